"""Benchmark of the backup path on the real RabbitMQ: two ratios in one run.

Lab-only (issue 2, item 7). Both ratios compare the lab with a bare
oslo.messaging baseline measured in the same process, on the same transport,
in interleaved rounds:

1. ``create_backup`` casts per second through ``backup/rpcapi.py`` vs the same
   casts (same context, same arguments, same bytes on the wire) through a bare
   ``RPCClient``; goal: at least 0.95.
2. ``backup-create`` end to end (``backup/api.py`` ``API().create`` until the
   backup row is ``available``, with the real volume, backup and scheduler
   services) p50 and p99 vs a bare ``call`` round trip to an echo endpoint.

Usage: ``python benchmarks/bench_backup.py [--casts N] [--rounds R] ...``
(``make bench``). Figures go to ``benchmarks/results/bench_backup.json``.
"""

from __future__ import annotations

import cinder_lab  # noqa: F401 - first: it hides oslo.service's eventlet warning on import

# isort: split
import argparse
import gc
import json
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import kombu
import oslo_messaging as messaging

import benchlib
from cinder_lab import context, rpc
from cinder_lab.backup import api as backup_api
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.cmd import common
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.lab import Lab
from cinder_lab.volume import api as volume_api

HOST = "bench-host"
ECHO_TOPIC = "cinder-lab-bench-echo"
GOAL = 0.95


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--casts", type=int, default=1000, help="casts per client per round")
    p.add_argument("--rounds", type=int, default=15, help="timed rounds (median is reported)")
    p.add_argument("--warmup", type=int, default=300, help="untimed casts per client first")
    p.add_argument("--cast-block", type=int, default=50, help="casts per alternating block")
    p.add_argument("--backups", type=int, default=300, help="timed backup-create requests")
    p.add_argument("--calls", type=int, default=300, help="timed bare call round trips")
    p.add_argument("--block", type=int, default=10, help="backups/calls per interleaved block")
    p.add_argument(
        "--json", type=Path, default=benchlib.RESULTS / "bench_backup.json", help="output file"
    )
    args = p.parse_args(argv)
    for name in ("casts", "rounds", "cast_block", "backups", "calls", "block"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must not be negative")
    return args


# -- 1. casts ------------------------------------------------------------------


class NoEndpoint:
    """An endpoint with no methods: the server only declares the queues."""

    target = messaging.Target(version="2.0")


class CastQueue:
    """The queue ``cinder-backup.<host>`` with nobody consuming it, seen through kombu.

    An RPC server started and stopped once declares the exchange and queues with
    oslo.messaging's own properties; they stay, so every cast is routed and
    waits there, and no consumer competes with the clients for the CPU.
    """

    def __init__(self, url: str, host: str) -> None:
        server = rpc.get_server(
            messaging.Target(topic=CONF.backup_topic, server=host), [NoEndpoint()]
        )
        server.start()
        server.stop()
        server.wait()
        self.name = f"{CONF.backup_topic}.{host}"
        parsed = messaging.TransportURL.parse(CONF, url)
        h = parsed.hosts[0]
        self.conn = kombu.Connection(
            hostname=h.hostname,
            port=h.port,
            userid=h.username,
            password=h.password,
            virtual_host=parsed.virtual_host,
        )
        self.channel = self.conn.channel()

    def depth(self) -> int:
        return self.channel.queue_declare(queue=self.name, passive=True).message_count

    def wait_depth(self, expected: int, timeout: float = 60) -> None:
        """Wait until the broker holds ``expected`` messages: every cast was routed."""
        deadline = time.monotonic() + timeout
        while (depth := self.depth()) < expected:
            if time.monotonic() > deadline:
                raise benchlib.BenchError(
                    f"only {depth} of {expected} casts reached queue {self.name}"
                )
            time.sleep(0.01)

    def purge(self) -> None:
        self.channel.queue_purge(self.name)

    def get(self) -> dict:
        """Take one message and return the oslo.message inside its envelope."""
        msg = self.channel.basic_get(self.name, no_ack=True)
        if msg is None:
            raise benchlib.BenchError(f"no message in {self.name}")
        return json.loads(json.loads(msg.body)["oslo.message"])

    def close(self) -> None:
        self.conn.release()


def cast_clients(ctxt: context.RequestContext) -> dict[str, Callable[[str], None]]:
    """The two senders: the lab's rpcapi, and a bare client making the same casts."""
    api = backup_rpcapi.BackupAPI()
    # Same topic and version as BackupAPI's target, so the bytes on the wire are the same.
    bare = messaging.get_rpc_client(
        rpc.TRANSPORT,
        messaging.Target(
            topic=CONF.backup_topic, version=backup_rpcapi.BackupAPI.KILO_RPC_API_VERSION
        ),
    )

    def via_rpcapi(backup_id: str) -> None:
        api.create_backup(ctxt, SimpleNamespace(id=backup_id, host=HOST))

    def via_bare(backup_id: str) -> None:
        bare.prepare(server=HOST).cast(ctxt, "create_backup", backup_id=backup_id)

    return {"rpcapi": via_rpcapi, "bare": via_bare}


def check_same_payload(queue: CastQueue, senders: dict[str, Callable[[str], None]]) -> None:
    """One cast of each, read back from the broker: they must differ only in _unique_id."""
    backup_id = str(uuid.uuid4())
    seen = []
    for send in senders.values():
        send(backup_id)
        queue.wait_depth(1)
        msg = queue.get()
        msg.pop("_unique_id", None)
        seen.append(msg)
    if seen[0] != seen[1]:
        raise benchlib.BenchError(f"rpcapi and bare casts differ: {seen[0]} != {seen[1]}")


def timed_casts(send: Callable[[str], None], ids: list[str]) -> float:
    """Seconds to make one cast per id."""
    start = time.perf_counter()
    for backup_id in ids:
        send(backup_id)
    return time.perf_counter() - start


def cast_round(
    senders: dict[str, Callable[[str], None]], ids: list[str], block: int, flip: bool
) -> dict[str, float]:
    """Casts per second of each sender over ``ids``, in alternating blocks.

    Small alternating blocks (A B B A A B ...) spread any change in the
    machine's load (other processes, CPU frequency) evenly over both senders.
    """
    names = list(senders)
    spent = dict.fromkeys(names, 0.0)
    gc.collect()
    for n, first in enumerate(range(0, len(ids), block)):
        chunk = ids[first : first + block]
        for name in names if (n % 2 == 0) != flip else names[::-1]:
            spent[name] += timed_casts(senders[name], chunk)
    return {name: len(ids) / spent[name] for name in names}


def bench_casts(url: str, args: argparse.Namespace) -> dict:
    """Rounds of N casts per sender, interleaved in blocks; the median round is reported."""
    ctxt = context.get_admin_context()
    queue = CastQueue(url, HOST)
    try:
        senders = cast_clients(ctxt)
        check_same_payload(queue, senders)
        if args.warmup:
            warm = [str(uuid.uuid4()) for _ in range(args.warmup)]
            cast_round(senders, warm, args.cast_block, flip=False)
            queue.wait_depth(len(senders) * len(warm))
            queue.purge()
        ids = [str(uuid.uuid4()) for _ in range(args.casts)]
        rounds = []
        for r in range(args.rounds):
            rates = cast_round(senders, ids, args.cast_block, flip=r % 2 == 1)
            # Every cast must have been routed: count them in the queue, then empty it.
            queue.wait_depth(len(senders) * len(ids))
            queue.purge()
            rates["ratio"] = rates["rpcapi"] / rates["bare"]
            rounds.append(rates)
    finally:
        queue.close()
    ratios = [r["ratio"] for r in rounds]
    ratio = round(benchlib.median(ratios), 3)
    return {
        "casts_per_round": args.casts,
        "rounds": args.rounds,
        "block": args.cast_block,
        "warmup_casts": args.warmup,
        "rpcapi_casts_per_s": round(benchlib.median([r["rpcapi"] for r in rounds]), 1),
        "bare_casts_per_s": round(benchlib.median([r["bare"] for r in rounds]), 1),
        "ratio": ratio,
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        "goal": GOAL,
        "meets_goal": ratio >= GOAL,
        "per_round": [{k: round(v, 3) for k, v in r.items()} for r in rounds],
    }


# -- 2. backup-create end to end ------------------------------------------------


class Echo:
    """The baseline's endpoint: returns what it is given."""

    def echo(self, ctxt: dict, value: str) -> str:
        return value


def wait_row(get: Callable[[str], object], row_id: str, status: str, timeout: float = 30) -> None:
    """Poll a row until it has ``status``; fail the run on 'error' or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        row_status = get(row_id).status  # type: ignore[attr-defined]
        if row_status == status:
            return
        if row_status == "error" or time.monotonic() > deadline:
            raise benchlib.BenchError(f"row {row_id} is {row_status!r}, expected {status!r}")
        time.sleep(0.001)


def bench_backup_create(args: argparse.Namespace) -> dict:
    """Interleaved blocks of backup-create requests and bare echo calls."""
    ctxt = context.get_admin_context()
    lab = Lab()
    echo_server = None
    try:
        lab.start_all()
        if not lab.wait_for_pools(1):
            raise benchlib.BenchError("the scheduler never learned the backend's pool")
        volume = volume_api.API().create(ctxt, 1, name="bench")
        wait_row(db.volume_get, volume.id, "available")
        api = backup_api.API()

        echo_server = messaging.get_rpc_server(
            rpc.TRANSPORT,
            messaging.Target(topic=ECHO_TOPIC, server=HOST),
            [Echo()],
            executor="threading",
            access_policy=messaging.DefaultRPCAccessPolicy,
        )
        echo_server.start()
        echo = messaging.get_rpc_client(
            rpc.TRANSPORT, messaging.Target(topic=ECHO_TOPIC), timeout=30
        ).prepare(server=HOST)

        def one_backup() -> float:
            start = time.perf_counter()
            backup = api.create(ctxt, volume.id)
            api_returned.append(time.perf_counter() - start)
            wait_row(db.backup_get, backup.id, "available")
            elapsed = time.perf_counter() - start
            # The manager frees the volume just after; the next request needs it.
            wait_row(db.volume_get, volume.id, "available")
            return elapsed

        def one_call() -> float:
            value = str(uuid.uuid4())
            start = time.perf_counter()
            answer = echo.call(ctxt, "echo", value=value)
            elapsed = time.perf_counter() - start
            if answer != value:
                raise benchlib.BenchError(f"echo answered {answer!r}, not {value!r}")
            return elapsed

        api_returned: list[float] = []
        warmup = min(args.block, 10)
        for _ in range(warmup):
            one_backup()
            one_call()
        del api_returned[:]
        backups: list[float] = []
        calls: list[float] = []
        while len(backups) < args.backups or len(calls) < args.calls:
            for _ in range(min(args.block, args.backups - len(backups))):
                backups.append(one_backup())
            for _ in range(min(args.block, args.calls - len(calls))):
                calls.append(one_call())
    finally:
        if echo_server is not None:
            echo_server.stop()
            echo_server.wait()
        lab.stop_all()

    def ms(values: list[float]) -> dict:
        return {
            "p50": round(benchlib.percentile(values, 50) * 1000, 3),
            "p99": round(benchlib.percentile(values, 99) * 1000, 3),
            "mean": round(sum(values) / len(values) * 1000, 3),
        }

    b, c = ms(backups), ms(calls)
    return {
        "backups": len(backups),
        "calls": len(calls),
        "backup_create_ms": b,
        "bare_call_ms": c,
        # Part of backup_create_ms: until API().create returned (checks, rows, the cast).
        "api_returns_ms": ms(api_returned),
        "ratio_p50": round(b["p50"] / c["p50"], 2),
        "ratio_p99": round(b["p99"] / c["p99"], 2),
        "services": "volume, backup and scheduler as threads of this process (cinder_lab.lab)",
    }


# -- run -----------------------------------------------------------------------


def report(results: dict) -> str:
    casts = results["create_backup_casts"]
    e2e = results["backup_create_e2e"]
    m = results["machine"]
    verdict = "meets" if casts["meets_goal"] else "MISSES"
    return "\n\n".join(
        [
            f"machine: {m['cpus']} cores, {m['cpu_model']}, Python {m['python']}, "
            f"oslo.messaging {m['oslo.messaging']}, RabbitMQ {m['rabbitmq']}",
            benchlib.table(
                f"1. create_backup casts ({casts['casts_per_round']} per round, "
                f"median of {casts['rounds']} alternating rounds)",
                ["client", "casts/s", "ratio"],
                [
                    ["bare RPCClient", casts["bare_casts_per_s"], "1.00"],
                    [
                        "backup/rpcapi.py",
                        casts["rpcapi_casts_per_s"],
                        f"{casts['ratio']:.3f} ({verdict} goal {GOAL})",
                    ],
                ],
            ),
            "ratio: median of the per-round ratios (both clients take turns within each\n"
            "round); the casts/s are medians of their own, so they need not divide to it.",
            benchlib.table(
                f"2. backup-create end to end ({e2e['backups']} requests) vs bare call "
                f"({e2e['calls']} round trips)",
                ["what", "p50 ms", "p99 ms"],
                [
                    ["bare call (echo)", e2e["bare_call_ms"]["p50"], e2e["bare_call_ms"]["p99"]],
                    [
                        "backup-create -> available",
                        e2e["backup_create_ms"]["p50"],
                        e2e["backup_create_ms"]["p99"],
                    ],
                    ["ratio", f"{e2e['ratio_p50']:.2f}x", f"{e2e['ratio_p99']:.2f}x"],
                    [
                        "(of which API().create)",
                        e2e["api_returns_ms"]["p50"],
                        e2e["api_returns_ms"]["p99"],
                    ],
                ],
            ),
        ]
    )


def run(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.setup_logging(logging.WARNING)
    # amqp warns about a late basic.cancel-ok each time a server stops: noise here.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="cinder-lab-bench-") as tmp, benchlib.vhost() as url:
        conf = benchlib.write_conf(Path(tmp) / "bench.conf", url, HOST, ["ceph"])
        config.parse_args(["--config-file", str(conf)])
        rpc.init(CONF)
        try:
            rpc.check_broker(CONF)
            casts = bench_casts(url, args)
            e2e = bench_backup_create(args)
        finally:
            rpc.cleanup()
            db.dispose_engine()
    results = {
        "benchmark": "bench_backup",
        "machine": benchlib.machine(),
        "vhost": benchlib.vhost_name(url),
        "create_backup_casts": casts,
        "backup_create_e2e": e2e,
    }
    print(report(results))
    print(f"\nwrote {benchlib.write_json(args.json, results)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return benchlib.main_guard(lambda: run(argv))


if __name__ == "__main__":
    sys.exit(main())
