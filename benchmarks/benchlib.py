"""What the lab's benchmarks share: a throwaway vhost, a config, statistics, output.

Lab-only (nothing in Cinder matches it). Every benchmark runs against the real
RabbitMQ of this machine in a vhost of its own, created with rabbitmqctl and
deleted at the end, even when the run fails or is interrupted.
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from cinder_lab import exception

BROKER = "127.0.0.1:5672"
RESULTS = Path(__file__).resolve().parent / "results"
# Other work on the machine when the run began (a shared 2-core box is rarely idle).
LOAD_AT_START = os.getloadavg()[0]


class BenchError(Exception):
    """A benchmark could not run (no broker, a check failed); printed as one line."""


def rabbitmqctl(*args: str) -> str:
    """Run rabbitmqctl quietly; BenchError with its first line when it fails."""
    try:
        out = subprocess.run(
            ["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        raise BenchError("rabbitmqctl not found: the benchmarks need the local RabbitMQ") from None
    except subprocess.CalledProcessError as e:
        first = (e.stderr or e.stdout or "").strip().splitlines()[:1]
        raise BenchError(f"rabbitmqctl {' '.join(args)} failed: {''.join(first)}") from None
    return out.stdout


def _raise_on_sigterm() -> None:
    # SIGTERM becomes SystemExit, so the finally clauses delete the vhost.
    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


@contextmanager
def vhost(prefix: str = "cinder-lab-bench") -> Iterator[str]:
    """A fresh vhost for guest; yields its transport URL and deletes it afterwards."""
    _raise_on_sigterm()
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"rabbit://guest:guest@{BROKER}/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)


def vhost_name(url: str) -> str:
    """The vhost of a transport URL made by ``vhost()`` (deleted by the time results print)."""
    return url.rsplit("/", 1)[1]


def write_conf(
    path: Path,
    transport_url: str,
    host: str,
    backends: Sequence[str] = (),
    extra_default: str = "",
) -> Path:
    """A lab config with SQLite beside it; each backend's pool is named after its section."""
    lines = [
        "[DEFAULT]",
        f"host = {host}",
        f"transport_url = {transport_url}",
        f"enabled_backends = {','.join(backends)}",
        "rpc_response_timeout = 30",
        extra_default,
        "[database]",
        f"connection = sqlite:///{path.parent}/lab.sqlite",
    ]
    for backend in backends:
        lines += [f"[{backend}]", f"volume_backend_name = {backend}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    return statistics.median(values)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine() -> dict:
    """What the figures were measured on: they mean little without it."""
    try:
        rabbit = rabbitmqctl("version").strip()
    except BenchError:
        rabbit = "?"
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "oslo.messaging": _version("oslo.messaging"),
        "kombu": _version("kombu"),
        "rabbitmq": rabbit,
        "loadavg_1min_at_start": round(LOAD_AT_START, 2),
        "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
    }


def write_json(path: Path, data: dict) -> Path:
    """Write the figures as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table with a title line."""
    cells = [[str(c) for c in columns]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    rule = "  ".join("-" * w for w in widths)
    lines = [title, rule]
    for n, row in enumerate(cells):
        # Header and first column left-aligned, figures right-aligned.
        padded = [
            c.rjust(w) if n and i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(padded).rstrip())
        if n == 0:
            lines.append(rule)
    return "\n".join(lines)


def before_env(ref: str, tmp: Path) -> dict[str, str]:
    """``src/`` of git revision ``ref`` under ``tmp``; the environment that runs it instead.

    For before/after figures in one run: a console script of this venv started
    with this environment imports the old tree's ``cinder_lab``.
    """
    root = Path(__file__).resolve().parents[1]
    dest = tmp / "before"
    dest.mkdir()
    try:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", ref, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise BenchError(f"cannot export src/ of {ref}: {e}") from None
    # PYTHONPATH comes before the venv's editable install of this tree.
    return dict(os.environ, PYTHONPATH=str(dest / "src"))


def main_guard(run: Callable[[], int | None]) -> int:
    """Run a benchmark's main; a BenchError or Ctrl-C is one line and exit 1."""
    try:
        return run() or 0
    except (BenchError, exception.CinderLabException) as e:
        print(f"{Path(sys.argv[0]).name}: error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{Path(sys.argv[0]).name}: interrupted", file=sys.stderr)
    return 1
