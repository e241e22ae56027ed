"""``python -m pdb -m cinder_lab.cmd.demo`` stops at a breakpoint in a service thread.

pdb traces only its own thread; ``Service.start`` hands its trace function to
``threading.settrace`` (``utils.follow_debugger_into_threads``), so a
``b backup/manager.py:N`` typed at the prompt stops in the RPC worker thread
that runs ``create_backup``, as the README says.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cinder_lab.backup.manager as backup_manager
from tests.compose import ROOT


def first_statement_of(path: Path, cls: str, method: str) -> int:
    """The line of the first statement after the docstring of ``cls.method``."""
    tree = ast.parse(path.read_text())
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls)
    fn = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == method)
    body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) else fn.body
    return body[0].lineno


def test_a_breakpoint_in_backup_manager_stops_in_a_service_thread():
    path = Path(backup_manager.__file__)
    line = first_statement_of(path, "BackupManager", "create_backup")
    commands = f"b {path}:{line}\nc\np __import__('threading').current_thread().name\nclear 1\nc\n"
    out = subprocess.run(
        [sys.executable, "-m", "pdb", "-m", "cinder_lab.cmd.demo"],
        input=commands,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    text = out.stdout + out.stderr
    assert f"manager.py({line})create_backup()" in text, text[-3000:]
    thread = text.split(f"manager.py({line})create_backup()", 1)[1].split("(Pdb) ")[1]
    assert thread.startswith("'") and "MainThread" not in thread.splitlines()[0], thread[:200]
