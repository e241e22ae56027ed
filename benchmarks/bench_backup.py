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
import os
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import kombu
import oslo_messaging as messaging

import backup_e2e
import benchlib
from cinder_lab import context, rpc
from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.cmd import common
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.db import engine as engine_module

HOST = "bench-host"
GOAL = 0.95
E2E_GOAL = 3.0  # backup-create p50 at most 3x a bare call (issue 14)
RELEASES = ("kilo", "current")
DATABASES = ("sqlite", "mariadb")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--casts", type=int, default=1000, help="casts per client per round")
    p.add_argument("--rounds", type=int, default=15, help="timed rounds (median is reported)")
    p.add_argument("--warmup", type=int, default=300, help="untimed casts per client first")
    p.add_argument("--cast-block", type=int, default=50, help="casts per alternating block")
    p.add_argument("--backups", type=int, default=300, help="timed backup-create requests")
    p.add_argument("--calls", type=int, default=300, help="timed bare call round trips")
    p.add_argument("--block", type=int, default=10, help="backups/calls per interleaved block")
    p.add_argument("--releases", default="kilo,current", help="lab_release values to run")
    p.add_argument("--databases", default="sqlite,mariadb", help="sqlite and/or mariadb")
    p.add_argument(
        "--sqlite-full",
        action="store_true",
        help="also run SQLite with synchronous=FULL (an fsync per commit: the lab before issue 14)",
    )
    p.add_argument(
        "--json", type=Path, default=benchlib.RESULTS / "bench_backup.json", help="output file"
    )
    args = p.parse_args(argv)
    for name in ("casts", "rounds", "cast_block", "backups", "calls", "block"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must not be negative")
    args.release_list = args.releases.split(",")
    args.database_list = args.databases.split(",")
    if not set(args.release_list) <= set(RELEASES):
        p.error(f"--releases: each must be one of {', '.join(RELEASES)}")
    if not set(args.database_list) <= set(DATABASES):
        p.error(f"--databases: each must be one of {', '.join(DATABASES)}")
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
    """The two senders: the lab's rpcapi (Kilo's cast: a backup id), and a bare client."""
    api = backup_rpcapi.BackupAPI()
    # Same topic and version as Kilo's create_backup (1.0), so the bytes on the wire are the same.
    version = backup_rpcapi.BackupAPI.KILO_VERSION_CAP
    bare = messaging.get_rpc_client(
        rpc.TRANSPORT, messaging.Target(topic=CONF.backup_topic, version=version)
    )

    def via_rpcapi(backup_id: str) -> None:
        api.create_backup(ctxt, types.SimpleNamespace(id=backup_id, host=HOST))

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


# -- 2. backup-create end to end, per release and database ----------------------


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str | None]:
    """A fresh database URL of ``kind``; MariaDB's is dropped afterwards (None: unreachable)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/lab.sqlite"
        return
    try:
        import pymysql

        root = pymysql.connect(host="127.0.0.1", user="root", autocommit=True, connect_timeout=3)
    except Exception:  # noqa: BLE001 - no MariaDB here: the figure is left out, with a note
        yield None
        return
    name = f"cinder_lab_bench_{uuid.uuid4().hex[:8]}"
    with root.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield f"mysql+pymysql://root@127.0.0.1/{name}"
    finally:
        db.dispose_engine()
        with root.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
        root.close()


def configure(tmp: Path, url: str, release: str, db_url: str) -> None:
    """Parse a config for ``release`` on ``db_url`` and start a fresh transport."""
    conf = benchlib.write_conf(
        tmp / "bench.conf", url, HOST, ["ceph"], extra_default=f"lab_release = {release}"
    )
    text = conf.read_text().replace(f"sqlite:///{tmp}/lab.sqlite", db_url)
    conf.write_text(text)
    rpc.cleanup()
    db.dispose_engine()
    config.parse_args(["--config-file", str(conf)])
    rpc.init(CONF)


@contextmanager
def sqlite_synchronous(mode: str) -> Iterator[None]:
    """Engines made inside use ``PRAGMA synchronous=<mode>`` after the lab's own pragmas."""
    lab_pragmas = engine_module._sqlite_pragmas

    def pragmas(dbapi_conn: Any, record: object) -> None:
        lab_pragmas(dbapi_conn, record)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA synchronous={mode}")
        cur.close()

    engine_module._sqlite_pragmas = pragmas
    try:
        yield
    finally:
        engine_module._sqlite_pragmas = lab_pragmas


def bench_e2e(url: str, tmp: Path, args: argparse.Namespace) -> list[dict]:
    """backup_e2e.run for each release on each database, each in a fresh directory."""
    rows = []
    kinds = list(args.database_list)
    if args.sqlite_full and "sqlite" in kinds:
        kinds.insert(kinds.index("sqlite"), "sqlite-full")
    for kind in kinds:
        for release in args.release_list:
            where = tmp / f"{kind}-{release}"
            where.mkdir()
            full = sqlite_synchronous("FULL") if kind == "sqlite-full" else nullcontext()
            with full, database(kind.removesuffix("-full"), where) as db_url:
                if db_url is None:
                    rows.append({"release": release, "database": kind, "skipped": "unreachable"})
                    continue
                configure(where, url, release, db_url)
                load = round(os.getloadavg()[0], 2)
                figures = backup_e2e.run(HOST, args.backups, args.calls, args.block)
                rows.append({"release": release, "database": kind, "loadavg_1min": load, **figures})
                rows[-1]["meets_goal"] = figures["ratio_p50"] <= E2E_GOAL
    return rows


# -- run -----------------------------------------------------------------------


def e2e_table(rows: list[dict]) -> str:
    out = []
    for r in rows:
        if "skipped" in r:
            out.append([f"{r['release']} / {r['database']}", "skipped: " + r["skipped"]])
            continue
        floor = f"{r['floor_ms']:.1f} ({r['ratio_to_floor_p50']:.2f}x)" if r["floor_ms"] else "-"
        out.append(
            [
                f"{r['release']} / {r['database']}",
                f"{r['casts_per_backup']:g}+{r['calls_per_backup']:g}",
                r["backup_create_ms"]["p50"],
                r["backup_create_ms"]["p99"],
                r["bare_call_ms"]["p50"],
                r["bare_cast_ms"]["p50"],
                f"{r['ratio_p50']:.2f}x",
                floor,
                r["api_returns_ms"]["p50"],
                r["loadavg_1min"],
            ]
        )
    return benchlib.table(
        "2. backup-create -> available vs bare oslo.messaging (p50 ms unless said)",
        [
            "release / db",
            "casts+calls",
            "backup",
            "backup p99",
            "call",
            "cast",
            "ratio",
            "floor (ratio)",
            "API()",
            "load",
        ],
        out,
    )


def report(results: dict) -> str:
    casts = results["create_backup_casts"]
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
            e2e_table(results["backup_create_e2e"]),
            f"ratio: backup p50 / bare call p50 (goal at most {E2E_GOAL:g}x); floor: the "
            "backup's casts at the bare cast p50 plus its calls at the bare call p50.",
        ]
    )


def run(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.setup_logging(logging.WARNING)
    # amqp warns about a late basic.cancel-ok each time a server stops: noise here.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="cinder-lab-bench-") as tmp, benchlib.vhost() as url:
        # The casts of part 1 are Kilo's (the note's code); part 2 runs each release.
        configure(Path(tmp), url, "kilo", f"sqlite:///{tmp}/lab.sqlite")
        try:
            rpc.check_broker(CONF)
            casts = bench_casts(url, args)
            e2e = bench_e2e(url, Path(tmp), args)
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
