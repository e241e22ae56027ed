"""fanout: capabilities reach every scheduler; a crashed process's fanout queue lingers."""

from __future__ import annotations

import subprocess
import sys

from cinder_lab.observe.envelope import describe
from cinder_lab.scenarios.base import Stage
from cinder_lab.service import Service
from cinder_lab.volume import rpcapi as volume_rpcapi

TTL = 12  # rabbit_transient_queues_ttl: long enough to watch, short enough to see it go


def fanout_queues(s: Stage) -> dict[str, tuple[int, int]]:
    return {q: v for q, v in s.broker.queues().items() if q.startswith("cinder-scheduler_fanout_")}


class Fanout:
    """Two schedulers, one volume backend, and what a fanout exchange does."""

    name = "fanout"
    summary = "capabilities reach every scheduler; a crashed process leaves its fanout queue behind"

    def run(self, s: Stage) -> None:
        s.step("1. Two schedulers (sched-a, sched-b) and cinder-volume maqi-kilo@ceph")
        sched_a, sched_b, crashing = self.start(s)
        s.step("2. One capability report reaches both schedulers")
        self.report(s, sched_a, sched_b)
        if crashing is None:
            s.step("3. sched-b stops cleanly: its fanout queue goes with it")
            s.lab.stop(sched_b)
            gone = s.wait_for(lambda: len(fanout_queues(s)) == 1, "sched-b's queue to go")
            s.check(gone, "oslo.messaging deleted the fanout queue when it closed the connection")
            s.say(
                "A crash cannot happen inside one process: run this scenario with "
                "--transport-url, where sched-b is a real process killed with SIGKILL."
            )
            return
        s.step("3. sched-b crashes (SIGKILL); its fanout queue stays behind")
        self.crash(s, crashing)
        s.lab.stop(sched_a)
        s.check(
            s.wait_for(lambda: not fanout_queues(s), "sched-a's queue"),
            "a clean stop deletes the fanout queue at once (oslo.messaging does it on close)",
        )

    def start(self, s: Stage) -> tuple[Service, Service | None, subprocess.Popen | None]:
        """sched-b (a thread, or a real process on a broker), sched-a and cinder-volume."""
        sections = {
            "ceph": {"volume_backend_name": "ceph"},
            "oslo_messaging_rabbit": {"rabbit_transient_queues_ttl": TTL},
        }
        crash_conf = s.configure(
            "sched-b", {"host": "sched-b", "enabled_backends": "ceph"}, sections
        )
        sched_b = None
        crashing = None
        if s.in_memory:
            sched_b = s.lab.start_scheduler()
        else:
            # A real process, so that it can really crash (SIGKILL) later.
            crashing = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cinder_lab.cmd.scheduler",
                    "--config-file",
                    str(crash_conf),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        s.configure("sched-a", {"host": "sched-a", "enabled_backends": "ceph"}, sections)
        sched_a = s.lab.start_scheduler()
        s.configure("kilo", {"host": "maqi-kilo", "enabled_backends": "ceph"}, sections)
        s.lab.start_volume()
        s.wait_for(lambda: s.is_up("cinder-scheduler", "sched-b"), "sched-b")
        s.wait_for(lambda: len(fanout_queues(s)) == 2, "two fanout queues")
        s.check(len(fanout_queues(s)) == 2, "exchange cinder-scheduler_fanout has two queues")
        return sched_a, sched_b, crashing

    def report(self, s: Stage, sched_a: Service, sched_b: Service | None) -> None:
        """publish_service_capabilities: one fanout cast, one report in each scheduler queue."""

        def reports() -> list:
            return [e for e in events if e.message.get("method") == "update_service_capabilities"]

        with s.watch() as events:
            volume_rpcapi.VolumeAPI().publish_service_capabilities(s.ctxt)
            s.wait_for(lambda: not s.broker.can_trace or reports(), "the capability report")
        for event in events:
            s.out(describe(event))
        if s.broker.can_trace:
            s.check(
                bool(reports()) and len(reports()[-1].queues) == 2,
                "update_service_capabilities was routed to both fanout queues",
            )
        for name, sched in (("sched-a", sched_a), ("sched-b", sched_b)):
            if sched is not None:
                pools = [p["name"] for p in sched.manager.host_manager.get_pools()]
                s.check(pools == ["maqi-kilo@ceph#ceph"], f"{name} knows {pools}")

    def crash(self, s: Stage, crashing: subprocess.Popen) -> None:
        """SIGKILL sched-b: its queue stays, still fed, until RabbitMQ expires it."""

        def consumers() -> list[int]:
            return sorted(v[1] for v in fanout_queues(s).values())

        # The management API fills in consumer counts a few seconds late.
        s.wait_for(lambda: consumers() == [1, 1], "both fanout queues to show a consumer")
        crashing.kill()
        crashing.wait()
        s.wait_for(lambda: consumers() == [0, 1], "a stale queue")
        stale = [q for q, v in fanout_queues(s).items() if v[1] == 0]
        s.check(len(stale) == 1, f"{len(stale)} fanout queue with no consumer: {stale}")
        volume_rpcapi.VolumeAPI().publish_service_capabilities(s.ctxt)
        if stale:

            def waiting() -> int:
                return s.broker.queues().get(stale[0], (0, 0))[0]

            s.wait_for(lambda: waiting() >= 1, "the report to land in the stale queue")
            s.check(waiting() >= 1, f"reports still go into it: {waiting()} waiting, unread")
        # Only list names now: a passive declare would renew the queue's x-expires lease.
        s.wait_for(lambda: not set(stale) & s.broker.queue_names(), "expiry", timeout=TTL + 20)
        s.check(
            not set(stale) & s.broker.queue_names(),
            f"RabbitMQ expired it after rabbit_transient_queues_ttl = {TTL} s",
        )
