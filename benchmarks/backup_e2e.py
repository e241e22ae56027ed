"""``backup-create`` end to end against the bare oslo.messaging round trips it is made of.

Lab-only (issues 2 and 14), used by ``bench_backup.py``. For one release and one
database, the volume, backup and scheduler services run as threads of this
process (``cinder_lab.lab``) on the real RabbitMQ; in interleaved blocks the run
times:

- ``backup-create``: ``backup/api.py`` ``API().create`` until the backup row is
  ``available`` (when cinder-backup's last method for it returns, its rows committed);
- a bare ``call`` round trip to an echo endpoint on the same transport;
- a bare ``cast``, from ``cast()`` until the endpoint runs (one message, one way).

The messages a backup sends are counted as the managers receive them, not
assumed; the floor is the sum of their bare figures (a cast per
cast, a call per call).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging

import benchlib
from cinder_lab import context, rpc
from cinder_lab.backup import api as backup_api
from cinder_lab.common import config
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from cinder_lab.volume import api as volume_api

ECHO_TOPIC = "cinder-lab-bench-echo"
# RPC methods of the backup path that the caller waits for (a reply comes back).
CALLS = {"initialize_connection", "terminate_connection", "remove_export"}
PATH = CALLS | {"create_backup", "get_backup_device", "continue_backup"}


class Echo:
    """The baseline's endpoint: ``echo`` answers a call, ``ping`` marks a cast's arrival."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.event = threading.Event()

    def echo(self, ctxt: dict, value: str) -> str:
        return value

    def ping(self, ctxt: dict, value: str) -> None:
        self.arrived[value] = time.perf_counter()
        self.event.set()


def wait_row(get: Callable[[str], Any], row_id: str, status: str, timeout: float = 30) -> None:
    """Poll a row until it has ``status``; fail the run on 'error' or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        row_status = get(row_id).status
        if row_status == status:
            return
        if row_status == "error" or time.monotonic() >= deadline:
            raise benchlib.BenchError(f"row {row_id} is {row_status!r}, expected {status!r}")
        time.sleep(0.0005)


class Counting:
    """Counts the backup path's RPC methods as the managers receive them.

    oslo.messaging's dispatcher looks each method up on the endpoint, so a
    counting wrapper set on the manager instance sees every message it is given.
    """

    def __init__(self, lab: Lab) -> None:
        self.seen: Counter = Counter()
        self.spent: dict[str, list[float]] = {}  # seconds inside each method, per message
        # Set when cinder-backup's last method of a backup returns: it committed the
        # final rows before it returned, so its return is when the backup is done.
        self.finished = threading.Event()
        self.done_at = 0.0
        final = "create_backup" if config.is_kilo() else "continue_backup"
        for service in lab.services:
            for name in PATH:
                method = getattr(service.manager, name, None)
                if method is not None:
                    last = service.binary == "cinder-backup" and name == final
                    setattr(service.manager, name, self._wrap(name, method, last))

    def _wrap(self, name: str, method: Callable, last: bool) -> Callable:
        def counted(*args: object, **kwargs: object) -> object:
            self.seen[name] += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                end = time.perf_counter()
                self.spent.setdefault(name, []).append(end - start)
                if last:
                    self.done_at = end
                    self.finished.set()

        return counted

    def snapshot(self) -> Counter:
        return Counter(self.seen)


def ms(values: list[float]) -> dict:
    return {
        "p50": round(benchlib.percentile(values, 50) * 1000, 3),
        "p99": round(benchlib.percentile(values, 99) * 1000, 3),
        "mean": round(sum(values) / len(values) * 1000, 3),
    }


class Bare:
    """A bare RPCServer with the Echo endpoint, and clients for its call and cast."""

    def __init__(self, host: str) -> None:
        self.endpoint = Echo()
        self.server = messaging.get_rpc_server(
            rpc.TRANSPORT,
            messaging.Target(topic=ECHO_TOPIC, server=host),
            [self.endpoint],
            executor="threading",
            access_policy=messaging.DefaultRPCAccessPolicy,
        )
        self.server.start()
        self.client = messaging.get_rpc_client(
            rpc.TRANSPORT, messaging.Target(topic=ECHO_TOPIC), timeout=30
        ).prepare(server=host)
        self.ctxt = context.get_admin_context()

    def call(self) -> float:
        value = str(uuid.uuid4())
        start = time.perf_counter()
        answer = self.client.call(self.ctxt, "echo", value=value)
        elapsed = time.perf_counter() - start
        if answer != value:
            raise benchlib.BenchError(f"echo answered {answer!r}, not {value!r}")
        return elapsed

    def cast(self) -> float:
        value = str(uuid.uuid4())
        self.endpoint.event.clear()
        start = time.perf_counter()
        self.client.cast(self.ctxt, "ping", value=value)
        if not self.endpoint.event.wait(30) or value not in self.endpoint.arrived:
            raise benchlib.BenchError("a bare cast never arrived")
        return self.endpoint.arrived.pop(value) - start

    def stop(self) -> None:
        self.server.stop()
        self.server.wait()


def run(host: str, backups: int, calls: int, block: int) -> dict:
    """Interleaved blocks of backup-create requests, bare calls and bare casts."""
    ctxt = context.get_admin_context()
    lab = Lab()
    bare = None
    api_returned: list[float] = []
    caller_woke: list[float] = []
    try:
        lab.start_all()
        if not lab.wait_for_pools(1):
            raise benchlib.BenchError("the scheduler never learned the backend's pool")
        volume = volume_api.API().create(ctxt, 1, name="bench")
        wait_row(db.volume_get, volume.id, "available")
        api = backup_api.API()
        bare = Bare(host)
        counting = Counting(lab)

        def one_backup() -> float:
            start = time.perf_counter()
            backup = api.create(ctxt, volume.id)
            api_returned.append(time.perf_counter() - start)
            # Sleep until cinder-backup's last method returns (polling the database would
            # steal the services' CPU); the backup ended then, not when this thread woke.
            if not counting.finished.wait(30):
                raise benchlib.BenchError(f"backup {backup.id} never finished")
            caller_woke.append(time.perf_counter() - start)
            counting.finished.clear()
            elapsed = counting.done_at - start
            # Untimed: both rows must be done by then.
            wait_row(db.backup_get, backup.id, "available", timeout=0)
            wait_row(db.volume_get, volume.id, "available")
            return elapsed

        for _ in range(min(block, 10)):  # warm-up
            one_backup(), bare.call(), bare.cast()
        del api_returned[:], caller_woke[:]
        before = counting.snapshot()
        timed: dict[str, list[float]] = {"backup": [], "call": [], "cast": []}
        steps = {"backup": (one_backup, backups), "call": (bare.call, calls)}
        steps["cast"] = (bare.cast, calls)
        while any(len(timed[k]) < n for k, (_, n) in steps.items()):
            for key, (step, n) in steps.items():
                for _ in range(min(block, n - len(timed[key]))):
                    timed[key].append(step())
        sent = counting.snapshot() - before
        inside = {k: ms(v[-len(timed["backup"]) :])["p50"] for k, v in counting.spent.items()}
    finally:
        if bare is not None:
            bare.stop()
        lab.stop_all()
    per_backup = {k: round(v / len(timed["backup"]), 2) for k, v in sorted(sent.items())}
    n_calls = sum(v for k, v in per_backup.items() if k in CALLS)
    n_casts = sum(per_backup.values()) - n_calls
    b, c, k = ms(timed["backup"]), ms(timed["call"]), ms(timed["cast"])
    floor = n_casts * k["p50"] + n_calls * c["p50"]
    return {
        "backups": len(timed["backup"]),
        "calls": len(timed["call"]),
        "backup_create_ms": b,
        "bare_call_ms": c,
        "bare_cast_ms": k,
        # Part of backup_create_ms: until API().create returned (checks, rows, the cast).
        "api_returns_ms": ms(api_returned),
        # Not part of it: until this thread had woken up to see the end (a thread hand-off).
        "caller_woke_ms": ms(caller_woke),
        "messages_per_backup": per_backup,
        # p50 ms each manager method ran (its own work, the calls it makes included).
        "in_method_p50_ms": dict(sorted(inside.items())),
        "casts_per_backup": n_casts,
        "calls_per_backup": n_calls,
        "floor_ms": round(floor, 3),
        "ratio_p50": round(b["p50"] / c["p50"], 2),
        "ratio_p99": round(b["p99"] / c["p99"], 2),
        "ratio_to_floor_p50": round(b["p50"] / floor, 2) if floor else None,
        "services": "volume, backup and scheduler as threads of this process (cinder_lab.lab)",
    }
