"""The benchmarks run, with tiny counts, against the real broker: so they cannot rot.

Only the output's shape is asserted, never a speed: figures belong in benchmarks/results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broker import ctl, require_broker

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"


def bench_vhosts() -> set[str]:
    return {v for v in ctl("list_vhosts", "name").split() if v.startswith("cinder-lab-bench-")}


def run_bench(script: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.mark.broker
def test_bench_backup_tiny_run(tmp_path):
    require_broker()
    before = bench_vhosts()
    out = tmp_path / "bench_backup.json"
    tiny = ["--casts", "20", "--rounds", "2", "--warmup", "4", "--cast-block", "5"]
    tiny += ["--backups", "3", "--calls", "3", "--block", "2", "--json", str(out)]
    proc = run_bench("bench_backup.py", *tiny)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "1. create_backup casts" in proc.stdout and "2. backup-create end to end" in proc.stdout

    data = json.loads(out.read_text())
    assert data["machine"]["cpus"] >= 1
    casts = data["create_backup_casts"]
    assert (casts["casts_per_round"], casts["rounds"], len(casts["per_round"])) == (20, 2, 2)
    assert casts["rpcapi_casts_per_s"] > 0 and casts["bare_casts_per_s"] > 0
    assert casts["ratio_min"] <= casts["ratio"] <= casts["ratio_max"]
    assert casts["goal"] == 0.95 and casts["meets_goal"] == (casts["ratio"] >= 0.95)
    e2e = data["backup_create_e2e"]
    assert (e2e["backups"], e2e["calls"]) == (3, 3)
    for key in ("backup_create_ms", "bare_call_ms"):
        assert 0 < e2e[key]["p50"] <= e2e[key]["p99"]
    # The run's own vhost is gone again.
    assert bench_vhosts() <= before


def test_bench_backup_bad_count_is_one_line():
    proc = run_bench("bench_backup.py", "--casts", "0", timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith("--casts must be at least 1")
    assert "Traceback" not in proc.stderr
