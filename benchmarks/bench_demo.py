"""Wall time of ``make demo`` (``cinder-lab-demo``) against its own imports.

Lab-only (issues 6 and 14). The baseline, measured in the same run, is a
Python process that only imports the demo (interpreter start plus
oslo.messaging, SQLAlchemy and the lab): the ratio shows what the story itself
costs. Goal (issue 14): under 3 s wall, the waits for rows to turn ``down``
shown by advancing the lab's clock instead of sleeping. The CPU time of each
child is reported beside the wall time. ``--before REF`` also runs the demo of
a git revision's ``src/``, for the before/after figure.

Usage: ``python benchmarks/bench_demo.py [--repeats N] [--before REF]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

BIN = Path(sys.executable).parent
GOAL_S = 3.0  # issue 14: make demo under 3 s wall


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="runs of each (median is reported)")
    p.add_argument("--before", metavar="REF", help="also run the demo of this git revision")
    p.add_argument(
        "--json", type=Path, default=benchlib.RESULTS / "bench_demo.json", help="output file"
    )
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def timed(cmd: list[str], env: dict | None = None, timeout: float = 300) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child run; it must exit 0."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        raise benchlib.BenchError(f"{Path(cmd[0]).name} exited {proc.returncode}: {last}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    demo = [str(BIN / "cinder-lab-demo")]
    imports = [sys.executable, "-c", "import cinder_lab.cmd.demo"]
    cmds = {"demo": (demo, None), "imports": (imports, None)}
    with tempfile.TemporaryDirectory(prefix="cinder-lab-bench-") as tmp:
        if args.before:
            env = benchlib.before_env(args.before, Path(tmp))
            cmds |= {"demo (before)": (demo, env), "imports (before)": (imports, env)}
        walls: dict[str, list[float]] = {name: [] for name in cmds}
        cpus: dict[str, list[float]] = {name: [] for name in cmds}
        loads = []
        timed(imports)  # warm the file cache before anything is timed
        for r in range(args.repeats):
            loads.append(round(os.getloadavg()[0], 2))
            # Alternate the order, so neither always runs on a cooler machine.
            for name in list(cmds)[:: 1 if r % 2 == 0 else -1]:
                wall, cpu = timed(*cmds[name])
                walls[name].append(wall)
                cpus[name].append(cpu)
    med = {k: round(benchlib.median(v), 3) for k, v in walls.items()}
    med_cpu = {k: round(benchlib.median(v), 3) for k, v in cpus.items()}
    results = {
        "benchmark": "bench_demo",
        "machine": benchlib.machine(),
        "repeats": args.repeats,
        "loadavg_1min_per_round": loads,
        "demo_wall_s": med["demo"],
        "demo_cpu_s": med_cpu["demo"],
        "imports_wall_s": med["imports"],
        "imports_cpu_s": med_cpu["imports"],
        "ratio_wall": round(med["demo"] / med["imports"], 2),
        "ratio_cpu": round(med_cpu["demo"] / med_cpu["imports"], 2),
        "goal_wall_s": GOAL_S,
        "meets_goal": med["demo"] < GOAL_S,
        "runs": {"wall_s": walls, "cpu_s": cpus},
    }
    if args.before:
        results["before"] = {
            "ref": args.before,
            "demo_wall_s": med["demo (before)"],
            "demo_cpu_s": med_cpu["demo (before)"],
            "ratio_wall": round(med["demo (before)"] / med["imports (before)"], 2),
        }
    m = results["machine"]
    print(f"machine: {m['cpus']} cores, {m['cpu_model']}, Python {m['python']}\n")
    print(
        benchlib.table(
            f"make demo (cinder-lab-demo), median of {args.repeats} runs",
            ["what", "wall s", "CPU s"],
            [[name, med[name], med_cpu[name]] for name in cmds]
            + [
                [
                    "ratio demo / imports",
                    f"{results['ratio_wall']:.1f}x",
                    f"{results['ratio_cpu']:.1f}x",
                ]
            ],
        )
    )
    print(f"\nwrote {benchlib.write_json(args.json, results)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return benchlib.main_guard(lambda: run(argv))


if __name__ == "__main__":
    sys.exit(main())
