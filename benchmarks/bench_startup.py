"""Start-up of cinder-lab-volume with 1, 10 and 50 backends: time and memory.

Lab-only (issue 6, item 1). Each run launches the real console script (one
child process per backend) against the real RabbitMQ, in a vhost of this run,
with a fresh SQLite file and fresh host names, and measures:

- the time from launch until every backend's ``services`` row is ``up``;
- the time until every backend's queue ``cinder-volume.<host>@<backend>`` has
  its consumer (the RPC server is really listening), read from the broker;
- the peak memory of the whole process tree (the launcher and its children),
  sampled from /proc: the sum of RSS (counts pages the forked children still
  share with the parent once per process) and the sum of PSS (shares them out:
  the honest total);
- the time from SIGTERM until the launcher exits (exit code must be 0).

The 1-backend case is the baseline of each ratio. A plot is saved beside the
figures when matplotlib is installed (``pip install -e '.[bench]'``).

Usage: ``python benchmarks/bench_startup.py [--backends 1,10,50] [--repeats 3]``.
"""

from __future__ import annotations

import cinder_lab  # noqa: F401 - first: it hides oslo.service's eventlet warning on import

# isort: split
import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import amqp.exceptions
import kombu
import sqlalchemy

import benchlib
from cinder_lab.db import models

BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="1,10,50", help="comma-separated backend counts")
    p.add_argument("--repeats", type=int, default=5, help="runs per count (median is reported)")
    p.add_argument("--timeout", type=float, default=180, help="seconds a run may take to start")
    p.add_argument("--before", metavar="REF", help="also run the src/ of this git revision")
    p.add_argument(
        "--json", type=Path, default=benchlib.RESULTS / "bench_startup.json", help="output file"
    )
    p.add_argument(
        "--plot", type=Path, default=benchlib.RESULTS / "startup.png", help="PNG of the curve"
    )
    args = p.parse_args(argv)
    try:
        args.counts = [int(n) for n in args.backends.split(",")]
    except ValueError:
        p.error(f"--backends must be comma-separated integers, got {args.backends!r}")
    if not args.counts or min(args.counts) < 1:
        p.error("--backends: every count must be at least 1")
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


# -- the process tree, from /proc -------------------------------------------------


def _children() -> dict[int, list[int]]:
    """ppid -> [pid] for every process of the machine."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Field 4 is the ppid; the command name (field 2) may hold spaces, so split after ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants."""
    tree = _children()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(tree.get(pid, []))
    return pids


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError):
        return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time one process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat, 12 and 13 after the ')'.
    return (int(fields[11]) + int(fields[12])) / TICK


def pss_bytes(pid: int) -> int:
    """Proportional set size of one process: shared pages divided among their users."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class MemorySampler:
    """Peak RSS and PSS sums of a process tree over repeated samples."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_procs = 0

    def cpu(self) -> float:
        """CPU seconds the whole tree has used so far."""
        return sum(cpu_seconds(p) for p in tree_pids(self.root))

    def sample(self, with_pss: bool) -> None:
        pids = tree_pids(self.root)
        self.peak_procs = max(self.peak_procs, len(pids))
        self.peak_rss = max(self.peak_rss, sum(rss_bytes(p) for p in pids))
        if with_pss:
            self.peak_pss = max(self.peak_pss, sum(pss_bytes(p) for p in pids))


# -- readiness: rows in the database, consumers on the broker ------------------------


def db_sync(db_file: Path) -> None:
    """Create the tables before any service starts, as ``cinder-manage db sync`` does.

    (Children that all find no table on a fresh file would race to create it.)
    """
    engine = sqlalchemy.create_engine(f"sqlite:///{db_file}")
    models.metadata().create_all(engine)
    engine.dispose()


def rows_up(db_file: Path) -> int:
    """cinder-volume rows with a heartbeat (a fresh database has no stale ones)."""
    if not db_file.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5) as conn:
            (n,) = conn.execute(
                "SELECT count(*) FROM services WHERE binary = 'cinder-volume' "
                "AND updated_at IS NOT NULL"
            ).fetchone()
        return n
    except sqlite3.OperationalError:
        return 0  # the table is not created yet, or a writer holds the lock


class Consumers:
    """Which of the expected queues already have a consumer (passive declares)."""

    def __init__(self, url: str, queues: list[str]) -> None:
        self.conn = kombu.Connection(url.replace("rabbit://", "amqp://", 1))
        self.channel = self.conn.channel()
        self.waiting = set(queues)

    def poll(self) -> int:
        """Check the queues still waiting; return how many are still waiting."""
        for name in list(self.waiting):
            try:
                ok = self.channel.queue_declare(queue=name, passive=True)
            except amqp.exceptions.NotFound:
                # A failed passive declare closes the channel: open another one.
                self.channel = self.conn.channel()
                continue
            if ok.consumer_count:
                self.waiting.discard(name)
        return len(self.waiting)

    def close(self) -> None:
        self.conn.release()


# -- one run ----------------------------------------------------------------------


def one_run(url: str, tmp: Path, n: int, tag: str, timeout: float, env: dict | None = None) -> dict:
    """Launch cinder-lab-volume with ``n`` backends; time it up, sample memory, stop it."""
    run_dir = tmp / tag
    run_dir.mkdir()
    host = f"bench-{tag}"
    backends = [f"b{i}" for i in range(n)]
    conf = benchlib.write_conf(run_dir / "volume.conf", url, host, backends)
    db_sync(run_dir / "lab.sqlite")
    consumers = Consumers(url, [f"cinder-volume.{host}@{b}" for b in backends])
    log = open(run_dir / "volume.log", "w")  # noqa: SIM115 - closed below
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "cinder-lab-volume"), "--config-file", str(conf)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    memory = MemorySampler(proc.pid)
    t_rows = t_consumers = None
    cpu = 0.0
    tick = 0
    try:
        while t_rows is None or t_consumers is None:
            if proc.poll() is not None:
                raise benchlib.BenchError(
                    f"cinder-lab-volume ({n} backends) exited {proc.returncode}: "
                    f"{(run_dir / 'volume.log').read_text().strip().splitlines()[-1:]}"
                )
            if time.perf_counter() - start > timeout:
                raise benchlib.BenchError(f"{n} backends not up after {timeout:.0f} s")
            memory.sample(with_pss=tick % 10 == 0)
            if t_rows is None and rows_up(run_dir / "lab.sqlite") >= n:
                t_rows = time.perf_counter() - start
            if t_consumers is None and consumers.poll() == 0:
                t_consumers = time.perf_counter() - start
                cpu = memory.cpu()
            tick += 1
            time.sleep(0.05)
        # Let start-up work (capability reports, first imports) settle, still sampling.
        settle = time.perf_counter() + 1.0
        while time.perf_counter() < settle:
            memory.sample(with_pss=True)
            time.sleep(0.1)
        stop = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        t_stop = time.perf_counter() - stop
        if code != 0:
            raise benchlib.BenchError(f"cinder-lab-volume ({n} backends) stopped with exit {code}")
    finally:
        if proc.poll() is None:
            for pid in tree_pids(proc.pid)[::-1]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait(timeout=30)
        consumers.close()
        log.close()
    return {
        "loadavg_1min": round(os.getloadavg()[0], 2),
        "rows_up_s": round(t_rows, 3),
        "consuming_s": round(t_consumers, 3),
        "cpu_s": round(cpu, 2),
        "stop_s": round(t_stop, 3),
        "processes": memory.peak_procs,
        "peak_rss_mib": round(memory.peak_rss / 2**20, 1),
        "peak_pss_mib": round(memory.peak_pss / 2**20, 1),
    }


def summarise(n: int, runs: list[dict]) -> dict:
    """Medians over the repeats of one backend count."""
    keys = ("rows_up_s", "consuming_s", "cpu_s", "stop_s", "peak_rss_mib", "peak_pss_mib")
    out: dict = {"backends": n, "repeats": len(runs)}
    out.update({k: round(benchlib.median([r[k] for r in runs]), 3) for k in keys})
    # The spread says how much other work on the machine moved the wall times.
    out["rows_up_s_min"] = min(r["rows_up_s"] for r in runs)
    out["rows_up_s_max"] = max(r["rows_up_s"] for r in runs)
    out["processes"] = max(r["processes"] for r in runs)
    out["runs"] = runs
    return out


def add_ratios(rows: list[dict]) -> None:
    """Each count against the smallest one, measured in the same run."""
    base = rows[0]
    for row in rows:
        for key in ("rows_up_s", "consuming_s", "cpu_s", "peak_pss_mib"):
            row[f"{key}_ratio"] = round(row[key] / base[key], 2)
        row["pss_mib_per_backend"] = round(row["peak_pss_mib"] / row["backends"], 1)


def _rows(rows: list[dict], name: str) -> list[list[str]]:
    return [
        [
            name,
            r["backends"],
            r["processes"],
            f"{r['rows_up_s']:.2f}",
            f"{r['rows_up_s_ratio']:.1f}x",
            f"{r['rows_up_s_min']:.2f}-{r['rows_up_s_max']:.2f}",
            f"{r['consuming_s']:.2f}",
            f"{r['cpu_s']:.1f}",
            f"{r['peak_rss_mib']:.0f}",
            f"{r['peak_pss_mib']:.0f}",
            f"{r['peak_pss_mib_ratio']:.1f}x",
            f"{r['stop_s']:.2f}",
        ]
        for r in rows
    ]


def report(results: dict) -> str:
    m = results["machine"]
    rows = _rows(results["startup"], "this tree")
    if "before" in results:
        rows += _rows(results["before"]["startup"], results["before"]["ref"])
    columns = ["tree", "backends", "procs", "rows up s", "up ratio", "up min-max"]
    columns += ["consuming s", "CPU s", "RSS MiB", "PSS MiB", "PSS ratio", "stop s"]
    return "\n\n".join(
        [
            f"machine: {m['cpus']} cores, {m['cpu_model']}, Python {m['python']}, "
            f"oslo.messaging {m['oslo.messaging']}, RabbitMQ {m['rabbitmq']}; load "
            f"{m['loadavg_1min_at_start']} at start, {m['loadavg_1min_at_end']} at end",
            benchlib.table(
                f"cinder-lab-volume start-up (median of {results['repeats']} runs per count; "
                "ratios against the first count of the same tree)",
                columns,
                rows,
            ),
        ]
    )


def plot(results: dict, path: Path) -> Path | None:
    """Start-up time and memory against the backend count, as a PNG (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = results["startup"]
    counts = [r["backends"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    up = [r["rows_up_s"] for r in rows]
    pss = [r["peak_pss_mib"] for r in rows]
    left.plot(counts, up, "o-", label="every services row up")
    left.plot(counts, [r["consuming_s"] for r in rows], "s--", label="every queue consumed")
    left.plot(counts, [r["cpu_s"] for r in rows], "^:", label="CPU seconds of the tree, until then")
    left.set_xlabel("backends (child processes)")
    left.set_ylabel("seconds")
    left.set_title("cinder-lab-volume start-up: wall and CPU time")
    right.plot(counts, pss, "o-", label="PSS (shared pages split)")
    right.plot(
        counts,
        [r["peak_rss_mib"] for r in rows],
        "s--",
        label="RSS (shared pages counted per process)",
    )
    right.set_xlabel("backends (child processes)")
    right.set_ylabel("peak MiB, whole process tree")
    right.set_title("memory of the process tree")
    for ax, values, fmt in ((left, up, "{:.1f} s"), (right, pss, "{:.0f} MiB")):
        for x, y in zip(counts, values, strict=True):
            ax.annotate(fmt.format(y), (x, y), textcoords="offset points", xytext=(6, -12))
        ax.legend(loc="upper left")
    for ax in (left, right):
        ax.set_xticks(counts)
        ax.set_xlim(0, max(counts) * 1.15)
        ax.set_ylim(bottom=0, top=max(ax.get_ylim()[1], 1) * 1.1)
        ax.grid(alpha=0.3)
    m = results["machine"]
    fig.suptitle(
        f"{m['cpus']} cores, Python {m['python']}, oslo.messaging {m['oslo.messaging']}, "
        f"RabbitMQ {m['rabbitmq']}; median of {results['repeats']} runs; "
        f"load average {m['loadavg_1min_at_start']} at start (other work on the machine)",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (BIN / "cinder-lab-volume").exists():
        raise benchlib.BenchError(f"no cinder-lab-volume beside {sys.executable}")
    variants = ["after"] + (["before"] if args.before else [])
    runs: dict[str, dict[int, list[dict]]] = {v: {n: [] for n in args.counts} for v in variants}
    with tempfile.TemporaryDirectory(prefix="cinder-lab-bench-") as tmp, benchlib.vhost() as url:
        envs = {"after": None}
        if args.before:
            envs["before"] = benchlib.before_env(args.before, Path(tmp))
        # Untimed: the first launch reads every module from disk.
        one_run(url, Path(tmp), args.counts[0], "warmup", args.timeout)
        # Counts interleaved (1, 10, 50, 1, 10, 50 ...), and the trees alternate within
        # each count: load from other work hits all alike.
        for r in range(args.repeats):
            for n in args.counts:
                for v in variants if r % 2 == 0 else variants[::-1]:
                    tag = f"{v}-n{n}r{r}"
                    runs[v][n].append(one_run(url, Path(tmp), n, tag, args.timeout, envs[v]))
                    print(f"  {v}: {n} backends, run {r + 1}: {runs[v][n][-1]}", flush=True)
    rows = {v: [summarise(n, runs[v][n]) for n in args.counts] for v in variants}
    for v in variants:
        add_ratios(rows[v])
    if args.before:
        for new, old in zip(rows["after"], rows["before"], strict=True):
            for key in ("rows_up_s", "cpu_s", "peak_pss_mib"):
                new[f"{key}_vs_before"] = round(new[key] / old[key], 2)
    results = {
        "benchmark": "bench_startup",
        "machine": benchlib.machine(),
        "vhost": benchlib.vhost_name(url),
        "repeats": args.repeats,
        "startup": rows["after"],
    }
    if args.before:
        results["before"] = {"ref": args.before, "startup": rows["before"]}
    print(report(results))
    print(f"\nwrote {benchlib.write_json(args.json, results)}")
    png = plot(results, args.plot)
    print(f"wrote {png}" if png else "no plot: pip install -e '.[bench]' for matplotlib")
    return 0


def main(argv: list[str] | None = None) -> int:
    return benchlib.main_guard(lambda: run(argv))


if __name__ == "__main__":
    sys.exit(main())
