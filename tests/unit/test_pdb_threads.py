"""The README's and docs/compose.md's pdb recipe, typed at pdb as a learner would.

``python -m pdb -m cinder_lab.cmd.demo`` with a breakpoint in backup/manager.py:
pdb traces only its own thread, so ``Service.start`` hands its trace function to
``threading.settrace`` (``utils.follow_debugger_into_threads``) and the
breakpoint stops in the RPC worker thread. While it is stopped, the demo's main
thread waits for the backup: its wait must hold for as long as the learner
looks around (``clock.hold_while_debugging``), not give up and end the story
"not as the note describes". The recipe is read from the docs, so they stay true.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import pytest

from tests.compose import ROOT
from tests.procs import wait_until

DOCS = ("README.md", "docs/compose.md")
PROMPT = "(Pdb) "
# Typed at the first stop, before the recipe goes on: True once the demo's main thread
# is held by the stopped debugger (its wait for the backup would have given up by then).
HELD = (
    "p __import__('cinder_lab.utils').utils.wait_until("
    "__import__('cinder_lab.clock').clock.held, 60)"
)
THREAD = "p __import__('threading').current_thread().name"


def recipe(doc: str) -> tuple[list[str], dict[str, list[str]], str]:
    """The commands typed at ``(Pdb)``, what each ``p`` prints, and where pdb stops."""
    text = (ROOT / doc).read_text()
    block = next(
        b for b in re.findall(r"```console\n(.*?)```", text, re.S) if "-m pdb" in b
    ).splitlines()
    lines = [line.strip() for line in block]
    commands, prints = [], {}
    for i, line in enumerate(lines):
        if line.startswith(PROMPT):
            commands.append(line[len(PROMPT) :])
            if commands[-1].startswith("p "):
                prints.setdefault(commands[-1], []).append(lines[i + 1])
    stop = next(line for line in lines if line.startswith("> ")).rsplit("/", 1)[1]
    return commands, prints, stop


class Pdb:
    """``python -m pdb -m cinder_lab.cmd.demo`` with its output read as it comes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pdb", "-m", "cinder_lab.cmd.demo"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=0,
            cwd=ROOT,
        )
        self.out = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while chunk := self.proc.stdout.read(1):
            self.out += chunk

    def prompts(self) -> int:
        return self.out.count(PROMPT)

    def type(self, command: str, what: str) -> str:
        """Type one command and return what it printed up to the next prompt."""
        before, start = self.prompts(), len(self.out)
        self.proc.stdin.write(command + "\n")
        wait_until(lambda: self.prompts() > before, timeout=120, what=what)
        return self.out[start:].rsplit(PROMPT, 1)[0]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.reader.join(timeout=10)


@pytest.mark.parametrize("doc", DOCS)
def test_the_docs_pdb_recipe_stops_in_a_service_thread_and_the_demo_waits(doc):
    commands, prints, stop = recipe(doc)
    assert commands[0].startswith("b src/cinder_lab/backup/manager.py:"), commands
    pdb = Pdb()
    try:
        wait_until(lambda: pdb.prompts() >= 1, timeout=60, what="pdb's first prompt")
        seen: dict[str, list[str]] = {}
        stops = 0
        for command in commands:
            out = pdb.type(command, f"pdb to answer {command!r}")
            if command.startswith("p "):
                seen.setdefault(command, []).append(out.strip().splitlines()[-1])
            if command == "c" and stop in out:
                stops += 1
                if stops == 1:
                    thread = pdb.type(THREAD, "the thread's name").strip()
                    assert "MainThread" not in thread and thread.startswith("'"), thread
                    # The main thread is waiting for this backup: held, not giving up.
                    assert pdb.type(HELD, "the demo to hold its wait").strip() == "True"
        text = pdb.out
        assert stops == 2, text[-3000:]
        assert seen == prints, text[-3000:]
        assert "gave up waiting" not in text, text[-3000:]
        assert "== Done ==" in text and "did not behave" not in text, text[-3000:]
    finally:
        pdb.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_vscode_launch_entry_under_debugpy_waits_at_a_breakpoint_in_backup_manager():
    """The README's other recipe: VS Code's "Single process" entry runs the demo under
    debugpy; a breakpoint in backup/manager.py stops it, and the demo goes on after it."""
    from pathlib import Path

    import cinder_lab.backup.manager as backup_manager
    from tests.dap import DapSession

    commands, prints, stop = recipe("README.md")
    line = int(commands[0].rsplit(":", 1)[1])
    path = str(Path(backup_manager.__file__))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-Xfrozen_modules=off", "-m", "debugpy", "--listen", f"127.0.0.1:{port}"]
        + ["--wait-for-client", "-m", "cinder_lab.cmd.demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    session = None
    try:
        session = DapSession(port, timeout=60)
        session.attach({"justMyCode": True}, {path: [line]})
        for expected in prints[commands[2]]:
            stopped = session.event("stopped", timeout=120)["body"]
            assert stopped["reason"] == "breakpoint", stopped
            thread = stopped["threadId"]
            frames = session.request("stackTrace", {"threadId": thread})["stackFrames"]
            assert (frames[0]["source"]["path"], frames[0]["line"]) == (path, line)

            def evaluate(expression: str, frame: int = frames[0]["id"]) -> str:
                args = {"expression": expression, "frameId": frame, "context": "repl"}
                return session.request("evaluate", args, timeout=90)["result"]

            assert evaluate("row.host, volume.host") == expected
            session.request("continue", {"threadId": thread})
        session.event("terminated", timeout=180)  # the demo's end, seen by the debugger
        session.close()
        session = None
        out, _ = proc.communicate(timeout=60)
    finally:
        if session is not None:
            session.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out[-3000:]
    assert "gave up waiting" not in out and "== Done ==" in out, out[-3000:]
