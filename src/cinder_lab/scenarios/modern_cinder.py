"""modern-cinder: today's volume service runs Ocata's server beside Kilo's, sharing one queue.

With ``lab_release = current`` each cinder-volume backend runs two RPC servers,
as Cinder has since Ocata (volume RPC 3.6, ``backend_rpcserver``):
``Target(topic='cinder-volume', server='H@B')`` (Kilo's) and
``Target(topic='cinder-volume.H@B', server='H')``. Today's clients send to
``cinder-volume.H@B.H``; a client pinned below 3.6 by an older row in
``services`` still sends the Kilo way, and the first server is still there for it.
"""

from __future__ import annotations

from cinder_lab import rpc
from cinder_lab.db import api as db
from cinder_lab.objects.volume import Volume
from cinder_lab.observe.envelope import describe
from cinder_lab.scenarios.base import Stage
from cinder_lab.volume import rpcapi as volume_rpcapi

BACKEND = "maqi-kilo@ceph"
CONNECTOR = {"host": "maqi-kilo", "initiator": "iqn.1993-08.org.debian:01:lab"}


class ModernCinder:
    """lab_release = current: two servers per backend, and where today's messages land."""

    name = "modern-cinder"
    summary = "today's Target(topic='cinder-volume.host@backend', server='host') beside Kilo's"

    def run(self, s: Stage) -> None:
        s.step("1. A volume service that runs both servers (lab_release = current)")
        path = s.configure(
            "current",
            {"host": "maqi-kilo", "enabled_backends": "ceph", "lab_release": "current"},
            {"ceph": {"volume_backend_name": "ceph"}},
        )
        rpc.reset_version_caps()  # a fresh database: pin from its rows, not a former run's
        s.show_config(path, only=("lab_release",))
        s.lab.start_volume()
        s.lab.start_scheduler()
        s.lab.wait_for_pools(1)
        s.check(
            s.queue_is(f"cinder-volume.{BACKEND}", consumers=2),
            f"cinder-volume.{BACKEND}: Kilo's server queue and Ocata's topic queue, two consumers",
        )
        s.check(
            s.queue_is(f"cinder-volume.{BACKEND}.maqi-kilo", consumers=1),
            f"cinder-volume.{BACKEND}.maqi-kilo: Ocata's server queue, where today's messages land",
        )
        for queue, (_messages, consumers) in sorted(s.broker.queues().items()):
            if queue.startswith("cinder-volume"):
                s.say(f"{queue:<48} consumers={consumers}")

        s.step("2. The scheduler casts create_volume the current way")
        with s.watch() as events:
            vol = s.create_volume()
        for event in events:
            s.out(describe(event))
        s.check(vol.status == "available", f"volume {vol.status} on {vol.host}")
        self._check_key(s, events, "create_volume", f"cinder-volume.{BACKEND}.maqi-kilo")

        s.step("3. A client pinned below 3.6 (an older cinder-volume row) sends the Kilo way")
        row = db.service_get_by_args(BACKEND, "cinder-volume")
        db.service_update(row.id, {"rpc_current_version": "3.5"})
        rpc.reset_version_caps()  # as a restarted service would: it reads the rows again
        s.say("services: cinder-volume maqi-kilo@ceph rpc_current_version = 3.5")
        with s.watch() as events:
            volume = Volume.from_row(db.volume_get(vol.id), s.ctxt)
            info = volume_rpcapi.VolumeAPI().initialize_connection(s.ctxt, volume, CONNECTOR)
        for event in events:
            s.out(describe(event))
        s.check(bool(info), "initialize_connection answered by Kilo's server, still running")
        self._check_key(s, events, "initialize_connection", f"cinder-volume.{BACKEND}")
        db.service_update(row.id, {"rpc_current_version": "3.20"})
        rpc.reset_version_caps()

    @staticmethod
    def _check_key(s: Stage, events: list, method: str, key: str) -> None:
        if s.broker.can_trace:
            keys = [
                e.routing_key
                for e in events
                if e.exchange == "openstack" and e.message.get("method") == method
            ]
            s.check(keys[-1:] == [key], f"{method} went with routing key {key}")
