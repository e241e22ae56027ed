"""Cast throughput: backup/rpcapi.py vs a bare oslo.messaging client vs raw kombu.

Lab-only (issue 6, item 1). Four senders put the same ``create_backup`` cast
into queue ``cinder-backup.<host>`` (nobody consumes it; every round counts the
messages there before purging), interleaved in small blocks:

- ``rpcapi``: ``BackupAPI().create_backup`` (the lab's code, as Cinder's);
- ``bare``: ``RPCClient.prepare(server=host).cast`` on the same transport;
- ``kombu confirm``: one kombu Producer publishing the same envelope to exchange
  ``openstack`` with publisher confirms, as oslo.messaging's rabbit driver does
  (the ceiling for a cast that knows the broker took it);
- ``kombu no-confirm``: the same without confirms (fire and forget; the ceiling
  of the wire, not something oslo.messaging does).

Usage: ``python benchmarks/bench_casts.py [--casts N] [--rounds R]``.
Figures go to ``benchmarks/results/bench_casts.json``.
"""

from __future__ import annotations

import cinder_lab  # noqa: F401 - first: it hides oslo.service's eventlet warning on import

# isort: split
import argparse
import logging
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import kombu
from oslo_serialization import jsonutils

import benchlib
from bench_backup import HOST, CastQueue, cast_clients, cast_round
from cinder_lab import context, rpc
from cinder_lab.cmd import common
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db

SENDERS = ("rpcapi", "bare", "kombu confirm", "kombu no-confirm")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--casts", type=int, default=1000, help="casts per sender per round")
    p.add_argument("--rounds", type=int, default=11, help="timed rounds (median is reported)")
    p.add_argument("--warmup", type=int, default=200, help="untimed casts per sender first")
    p.add_argument("--cast-block", type=int, default=50, help="casts per alternating block")
    p.add_argument(
        "--json", type=Path, default=benchlib.RESULTS / "bench_casts.json", help="output file"
    )
    args = p.parse_args(argv)
    for name in ("casts", "rounds", "cast_block"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must not be negative")
    return args


class KombuSender:
    """A raw kombu publisher of oslo.messaging's cast envelope: no oslo layers at all."""

    def __init__(self, queue: CastQueue, ctxt: context.RequestContext, confirm: bool) -> None:
        self.conn = queue.conn.clone(transport_options={"confirm_publish": confirm})
        self.producer = kombu.Producer(self.conn.channel())
        self.exchange = kombu.Exchange("openstack", type="topic", durable=False, passive=True)
        self.routing_key = f"{CONF.backup_topic}.{HOST}"
        self.ctxt = ctxt

    def send(self, backup_id: str) -> None:
        # Build the message per cast, as a client must: context keys, args, a unique id.
        msg = {f"_context_{k}": v for k, v in self.ctxt.to_dict().items()}
        msg.update(
            method="create_backup",
            args={"backup_id": backup_id},
            version="1.0",  # Kilo backup RPC, what BackupAPI sends by default
            _unique_id=uuid.uuid4().hex,
        )
        envelope = {"oslo.version": "2.0", "oslo.message": jsonutils.dumps(msg)}
        self.producer.publish(envelope, exchange=self.exchange, routing_key=self.routing_key)

    def close(self) -> None:
        self.conn.release()


def check_kombu_payload(
    queue: CastQueue, sender: KombuSender, oslo_send: Callable[[str], None]
) -> None:
    """The raw publisher must put the same message in the queue as oslo.messaging does."""
    backup_id = str(uuid.uuid4())
    got = []
    for send in (oslo_send, sender.send):
        send(backup_id)
        queue.wait_depth(1)
        msg = queue.get()
        msg.pop("_unique_id")
        got.append(msg)
    if got[0] != got[1]:
        raise benchlib.BenchError(f"kombu and oslo.messaging casts differ: {got[1]} != {got[0]}")


def bench(url: str, args: argparse.Namespace) -> dict:
    """Interleaved rounds of the four senders; median rates and ratios."""
    ctxt = context.get_admin_context()
    queue = CastQueue(url, HOST)
    kombus = [KombuSender(queue, ctxt, confirm=True), KombuSender(queue, ctxt, confirm=False)]
    try:
        senders: dict[str, Callable[[str], None]] = dict(cast_clients(ctxt))
        senders["kombu confirm"] = kombus[0].send
        senders["kombu no-confirm"] = kombus[1].send
        check_kombu_payload(queue, kombus[0], senders["bare"])
        if args.warmup:
            warm = [str(uuid.uuid4()) for _ in range(args.warmup)]
            cast_round(senders, warm, args.cast_block, flip=False)
            queue.wait_depth(len(senders) * len(warm))
            queue.purge()
        ids = [str(uuid.uuid4()) for _ in range(args.casts)]
        rounds = []
        for r in range(args.rounds):
            rates = cast_round(senders, ids, args.cast_block, flip=r % 2 == 1)
            queue.wait_depth(len(senders) * len(ids))
            queue.purge()
            rounds.append(rates)
    finally:
        for k in kombus:
            k.close()
        queue.close()

    def ratio(a: str, b: str) -> float:
        return round(benchlib.median([r[a] / r[b] for r in rounds]), 3)

    return {
        "casts_per_round": args.casts,
        "rounds": args.rounds,
        "block": args.cast_block,
        "casts_per_s": {
            name: round(benchlib.median([r[name] for r in rounds]), 1) for name in SENDERS
        },
        "ratios": {
            "rpcapi / bare": ratio("rpcapi", "bare"),
            "rpcapi / kombu confirm": ratio("rpcapi", "kombu confirm"),
            "bare / kombu confirm": ratio("bare", "kombu confirm"),
            "rpcapi / kombu no-confirm": ratio("rpcapi", "kombu no-confirm"),
        },
        "per_round": [{k: round(v, 1) for k, v in r.items()} for r in rounds],
    }


def report(results: dict) -> str:
    c = results["casts"]
    m = results["machine"]
    ceiling = c["casts_per_s"]["kombu no-confirm"]
    rows = [
        [name, c["casts_per_s"][name], f"{c['casts_per_s'][name] / ceiling:.3f}"]
        for name in SENDERS
    ]
    return "\n\n".join(
        [
            f"machine: {m['cpus']} cores, {m['cpu_model']}, Python {m['python']}, "
            f"oslo.messaging {m['oslo.messaging']}, kombu {m['kombu']}, RabbitMQ {m['rabbitmq']}",
            benchlib.table(
                f"create_backup casts ({c['casts_per_round']} per sender per round, "
                f"median of {c['rounds']} interleaved rounds)",
                ["sender", "casts/s", "of no-confirm"],
                rows,
            ),
            "\n".join(f"{k:<26} {v:.3f}" for k, v in c["ratios"].items()),
        ]
    )


def run(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.setup_logging(logging.WARNING)
    logging.getLogger("amqp").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="cinder-lab-bench-") as tmp, benchlib.vhost() as url:
        conf = benchlib.write_conf(Path(tmp) / "bench.conf", url, HOST, ["ceph"])
        config.parse_args(["--config-file", str(conf)])
        rpc.init(CONF)
        try:
            rpc.check_broker(CONF)
            casts = bench(url, args)
        finally:
            rpc.cleanup()
            db.dispose_engine()
    results = {
        "benchmark": "bench_casts",
        "machine": benchlib.machine(),
        "vhost": benchlib.vhost_name(url),
        "casts": casts,
    }
    print(report(results))
    print(f"\nwrote {benchlib.write_json(args.json, results)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return benchlib.main_guard(lambda: run(argv))


if __name__ == "__main__":
    sys.exit(main())
