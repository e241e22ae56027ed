"""The debugger's single-process path: .vscode/launch.json's launch entry, run as the IDE would.

debugpy runs a ``"module"`` launch with runpy, in one process; here a plain
``sys.settrace`` stands in for the debugger and records where a breakpoint in
backup/rpcapi.py or backup/manager.py would stop.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.compose import ROOT

# Runs in a fresh interpreter: trace calls of create_backup, then run the module as __main__.
DRIVER = """
import json, os, runpy, sys, threading

module, report = sys.argv[1], sys.argv[2]
hits = []

def tracer(frame, event, arg):
    code = frame.f_code
    if code.co_name == "create_backup" and code.co_filename.endswith(
        ("backup/rpcapi.py", "backup/manager.py")
    ):
        hits.append([code.co_filename, os.getpid(), threading.current_thread().name])
    return None

sys.settrace(tracer)
threading.settrace(tracer)
sys.argv = [module]
code = 0
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code or 0
with open(report, "w") as f:
    json.dump({"pid": os.getpid(), "code": code, "hits": hits}, f)
"""


def test_launch_entry_hits_backup_rpcapi_and_manager_in_one_process(tmp_path):
    launch = json.loads((ROOT / ".vscode" / "launch.json").read_text())
    (entry,) = [c for c in launch["configurations"] if c["request"] == "launch"]
    report = tmp_path / "report.json"
    out = subprocess.run(
        [sys.executable, "-c", DRIVER, entry["module"], str(report)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    result = json.loads(report.read_text())
    assert result["code"] == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "backup-create fails: Service cinder-backup could not be found." in out.stdout

    rpcapi = [h for h in result["hits"] if h[0].endswith("backup/rpcapi.py")]
    manager = [h for h in result["hits"] if h[0].endswith("backup/manager.py")]
    # Two backups succeed in the story (before the failure and after the fix).
    assert len(rpcapi) == 2 and len(manager) == 2, result["hits"]
    # All in the launched process itself: no broker, no service process to attach to.
    assert {pid for _f, pid, _t in result["hits"]} == {result["pid"]}
    # The files the IDE has open are the ones that run.
    src = str(ROOT / "src" / "cinder_lab" / "backup")
    assert all(f.startswith(src) for f, _pid, _t in result["hits"])
    # The API casts from the caller's thread; the manager runs in an RPC server thread.
    assert {t for _f, _p, t in rpcapi} == {"MainThread"}
    assert "MainThread" not in {t for _f, _p, t in manager}
