"""modern-cinder: Ocata's addressing beside Kilo's, sharing one queue."""

from __future__ import annotations

from cinder_lab.common.config import CONF
from cinder_lab.observe.envelope import describe
from cinder_lab.scenarios.base import Stage

BACKEND = "maqi-kilo@ceph"


class ModernCinder:
    """volume_rpc_addressing = ocata: a second server, Target('cinder-volume.h@b', server='h')."""

    name = "modern-cinder"
    summary = "Ocata's Target(topic='cinder-volume.host@backend', server='host') beside Kilo's"

    def run(self, s: Stage) -> None:
        s.step("1. A volume service that runs both servers (volume_rpc_addressing = ocata)")
        path = s.configure(
            "ocata",
            {"host": "maqi-kilo", "enabled_backends": "ceph", "volume_rpc_addressing": "ocata"},
            {"ceph": {"volume_backend_name": "ceph"}},
        )
        s.show_config(path, only=("volume_rpc_addressing",))
        s.lab.start_volume()
        s.lab.start_scheduler()
        s.lab.wait_for_pools(1)
        s.check(
            s.queue_is(f"cinder-volume.{BACKEND}", consumers=2),
            f"cinder-volume.{BACKEND}: Kilo's server queue and Ocata's topic queue, two consumers",
        )
        s.check(
            s.queue_is(f"cinder-volume.{BACKEND}.maqi-kilo", consumers=1),
            f"cinder-volume.{BACKEND}.maqi-kilo: Ocata's server queue",
        )
        for queue, (_messages, consumers) in sorted(s.broker.queues().items()):
            if queue.startswith("cinder-volume"):
                s.say(f"{queue:<48} consumers={consumers}")

        ways = (
            ("kilo", f"cinder-volume.{BACKEND}"),
            ("ocata", f"cinder-volume.{BACKEND}.maqi-kilo"),
        )
        for number, (addressing, key) in enumerate(ways, start=2):
            s.step(f"{number}. The client addresses the backend the {addressing} way")
            CONF.set_override("volume_rpc_addressing", addressing)
            with s.watch() as events:
                vol = s.create_volume()
            for event in events:
                s.out(describe(event))
            s.check(vol.status == "available", f"volume {vol.status} on {vol.host}")
            if s.broker.can_trace:
                keys = [
                    e.routing_key
                    for e in events
                    if e.exchange == "openstack" and e.message.get("method") == "create_volume"
                ]
                s.check(key in keys, f"create_volume went with routing key {key}")
        CONF.clear_override("volume_rpc_addressing")
