"""Wall time of ``cinder-lab service-list`` and ``--help`` against importing SQLAlchemy's ORM.

Lab-only (issue 14, item 1). The baseline, measured in the same run and in
alternating order, is ``python -c "import sqlalchemy.orm"``: a command that
reads the database cannot start faster than its ORM imports. Goal: at most 2x.
``-X importtime`` of one ``service-list`` is summarised per top-level package,
and whether oslo.messaging was imported at all. ``--before REF`` also times the
``src/`` of a git revision, for the before/after figure.

Usage: ``python benchmarks/bench_client.py [--repeats N] [--before REF]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
GOAL = 2.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15, help="runs of each (median is reported)")
    p.add_argument("--before", metavar="REF", help="also time cmd/client.py of this git revision")
    p.add_argument(
        "--json", type=Path, default=benchlib.RESULTS / "bench_client.json", help="output file"
    )
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def timed(cmd: list[str], env: dict | None = None) -> float:
    """Wall seconds of one child run; it must exit 0."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        raise benchlib.BenchError(f"{' '.join(cmd[:3])} exited {proc.returncode}: {last}")
    return wall


def import_tree(cmd: list[str]) -> dict:
    """Import milliseconds per top-level package (self times summed), from ``-X importtime``."""
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    per_package: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        parts = line[12:].split("|") if line.startswith("import time:") else []
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        per_package[package] = per_package.get(package, 0) + int(parts[0]) / 1000
    top = dict(sorted(per_package.items(), key=lambda kv: -kv[1])[:8])
    return {
        "total_ms": round(sum(per_package.values()), 1),
        "top_packages_ms": {k: round(v, 1) for k, v in top.items()},
        "imports_oslo_messaging": "oslo_messaging" in proc.stderr,
    }


def run(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cinder-lab-bench-") as tmp:
        conf = benchlib.write_conf(Path(tmp) / "client.conf", "kombu+memory:////", "bench")
        client = [str(BIN / "cinder-lab"), "--config-file", str(conf)]
        cmds = {
            "import sqlalchemy.orm": [sys.executable, "-c", "import sqlalchemy.orm"],
            "service-list": [*client, "service-list"],
            "--help": [*client, "--help"],
        }
        envs: dict[str, dict | None] = dict.fromkeys(cmds)
        if args.before:
            before = f"service-list ({args.before})"
            cmds[before], envs[before] = (
                cmds["service-list"],
                benchlib.before_env(args.before, Path(tmp)),
            )
        timed(cmds["service-list"])  # creates the tables, warms the file cache
        walls: dict[str, list[float]] = {name: [] for name in cmds}
        loads = []
        for r in range(args.repeats):
            loads.append(os.getloadavg()[0])
            # Alternate the order, so no command always runs on a cooler machine.
            for name in list(cmds)[:: 1 if r % 2 == 0 else -1]:
                walls[name].append(timed(cmds[name], envs[name]))
        tree = import_tree(cmds["service-list"])
    med = {name: round(benchlib.median(v), 3) for name, v in walls.items()}
    base = med["import sqlalchemy.orm"]
    ratios = {name: round(v / base, 2) for name, v in med.items()}
    results = {
        "benchmark": "bench_client",
        "machine": benchlib.machine(),
        "repeats": args.repeats,
        "loadavg_1min_per_round": [round(x, 2) for x in loads],
        "wall_s": med,
        "ratio": ratios,
        "goal": GOAL,
        "meets_goal": ratios["service-list"] <= GOAL,
        "service_list_imports": tree,
        "runs": walls,
    }
    rows = [[name, f"{med[name]:.3f}", f"{ratios[name]:.2f}x"] for name in cmds]
    print(
        benchlib.table(
            f"cinder-lab start-up, median of {args.repeats} alternating runs "
            f"(load {results['machine']['loadavg_1min_at_start']})",
            ["what", "wall s", "ratio"],
            rows,
        )
    )
    print(
        f"\nservice-list imports {tree['total_ms']:.0f} ms; oslo_messaging imported: "
        f"{tree['imports_oslo_messaging']}; top: {tree['top_packages_ms']}"
    )
    print(f"\nwrote {benchlib.write_json(args.json, results)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return benchlib.main_guard(lambda: run(argv))


if __name__ == "__main__":
    sys.exit(main())
