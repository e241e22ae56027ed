"""The benchmarks run, with tiny counts, against the real broker: so they cannot rot.

Only the output's shape is asserted, never a speed: figures belong in benchmarks/results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broker import require_broker, vhosts

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"


def bench_vhosts() -> set[str]:
    return {v for v in vhosts() if v.startswith("cinder-lab-bench-")}


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
    out = tmp_path / "bench_backup.json"
    tiny = ["--casts", "20", "--rounds", "2", "--warmup", "4", "--cast-block", "5"]
    tiny += ["--backups", "3", "--calls", "3", "--block", "2", "--json", str(out)]
    tiny += ["--databases", "sqlite"]
    proc = run_bench("bench_backup.py", *tiny)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert (
        "1. create_backup casts" in proc.stdout and "2. backup-create -> available" in proc.stdout
    )

    data = json.loads(out.read_text())
    assert data["machine"]["cpus"] >= 1
    casts = data["create_backup_casts"]
    assert (casts["casts_per_round"], casts["rounds"], len(casts["per_round"])) == (20, 2, 2)
    assert casts["rpcapi_casts_per_s"] > 0 and casts["bare_casts_per_s"] > 0
    assert casts["ratio_min"] <= casts["ratio"] <= casts["ratio_max"]
    # The verdict printed is the one recorded.
    verdict = "meets" if casts["meets_goal"] else "MISSES"
    assert f"{casts['ratio']:.3f} ({verdict} goal {casts['goal']})" in proc.stdout
    runs = {(r["release"], r["database"]): r for r in data["backup_create_e2e"]}
    assert set(runs) == {("kilo", "sqlite"), ("current", "sqlite")}
    for e2e in runs.values():
        assert (e2e["backups"], e2e["calls"]) == (3, 3)
        for key in ("backup_create_ms", "bare_call_ms", "bare_cast_ms"):
            assert 0 < e2e[key]["p50"] <= e2e[key]["p99"]
        assert e2e["floor_ms"] > 0
    # The messages are counted as the managers receive them: Kilo's one cast; today's
    # 4 casts (API -> scheduler -> backup -> volume -> backup) and 3 calls.
    assert runs["kilo", "sqlite"]["messages_per_backup"] == {"create_backup": 1.0}
    current = runs["current", "sqlite"]
    assert (current["casts_per_backup"], current["calls_per_backup"]) == (4, 3)
    # The run's own vhost is gone again.
    assert data["vhost"].startswith("cinder-lab-bench-")
    assert data["vhost"] not in bench_vhosts()


def test_bench_backup_bad_count_is_one_line():
    proc = run_bench("bench_backup.py", "--casts", "0", timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith("--casts must be at least 1")
    assert "Traceback" not in proc.stderr


@pytest.mark.broker
def test_bench_casts_tiny_run(tmp_path):
    require_broker()
    out = tmp_path / "bench_casts.json"
    tiny = ["--casts", "20", "--rounds", "1", "--warmup", "4", "--cast-block", "5"]
    proc = run_bench("bench_casts.py", *tiny, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr

    data = json.loads(out.read_text())
    assert data["vhost"] not in bench_vhosts()
    casts = data["casts"]
    senders = {"rpcapi", "bare", "kombu confirm", "kombu no-confirm"}
    assert set(casts["casts_per_s"]) == senders
    assert all(rate > 0 for rate in casts["casts_per_s"].values())
    assert set(casts["ratios"]) == {
        "rpcapi / bare",
        "rpcapi / kombu confirm",
        "bare / kombu confirm",
        "rpcapi / kombu no-confirm",
    }
    assert len(casts["per_round"]) == 1


@pytest.mark.broker
def test_bench_startup_tiny_run(tmp_path):
    require_broker()
    out, png = tmp_path / "bench_startup.json", tmp_path / "startup.png"
    tiny = ["--backends", "1,2", "--repeats", "1", "--json", str(out), "--plot", str(png)]
    proc = run_bench("bench_startup.py", *tiny)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr

    data = json.loads(out.read_text())
    assert data["vhost"] not in bench_vhosts()
    rows = data["startup"]
    assert [(r["backends"], r["processes"]) for r in rows] == [(1, 2), (2, 3)]
    for r in rows:
        assert 0 < r["rows_up_s"] and 0 < r["consuming_s"]
        assert 0 < r["peak_pss_mib"] <= r["peak_rss_mib"]
    # The plot is optional (matplotlib is in the 'bench' extra), the line saying so is not.
    assert ("wrote " + str(png)) in proc.stdout or "no plot" in proc.stdout


def test_bench_client_tiny_run(tmp_path):
    out = tmp_path / "bench_client.json"
    proc = run_bench("bench_client.py", "--repeats", "1", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert set(data["wall_s"]) == {"import sqlalchemy.orm", "service-list", "--help"}
    assert set(data["ratio"]) == set(data["wall_s"])
    # The point of the lazy registry, checked on every run of the benchmark too.
    assert data["service_list_imports"]["imports_oslo_messaging"] is False
    assert data["service_list_imports"]["top_packages_ms"]["sqlalchemy"] > 0


def test_bench_demo_tiny_run(tmp_path):
    out = tmp_path / "bench_demo.json"
    proc = run_bench("bench_demo.py", "--repeats", "1", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert data["demo_wall_s"] > 0 and data["imports_wall_s"] > 0
    assert len(data["loadavg_1min_per_round"]) == 1


def test_summary_reads_the_committed_results():
    proc = run_bench("summary.py", timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # One machine line per benchmark, none missing: the results in the repository are complete.
    assert sum(line.startswith("<!-- bench_") for line in lines) == 5, proc.stdout
    assert "| backends |" in proc.stdout and "`make demo`" in proc.stdout
    assert "`cinder-lab service-list`" in proc.stdout and "ratio to floor" in proc.stdout
