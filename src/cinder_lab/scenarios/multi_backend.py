"""multi-backend: two backends on one host, two queues, volumes with #pool."""

from __future__ import annotations

from cinder_lab.observe.envelope import describe
from cinder_lab.scenarios.base import Stage
from cinder_lab.volume import volume_utils

HOST = "maqi-openstack.novalocal"


class MultiBackend:
    """The note's first machine: enabled_backends = lvmdriver-1,whatever_it_is."""

    name = "multi-backend"
    summary = "two backends on one host: two cinder-volume.host@backend queues, #pool hosts"

    def run(self, s: Stage) -> None:
        s.step("1. One host, two backend sections")
        path = s.configure(
            "openstack",
            {"host": HOST, "enabled_backends": "lvmdriver-1,whatever_it_is"},
            {
                "lvmdriver-1": {"volume_backend_name": "lvmdriver-1"},
                "whatever_it_is": {"volume_backend_name": "new_lvm_backend"},
            },
        )
        s.show_config(path, only=("host", "enabled_backends", "volume_backend_name"))
        s.lab.start_volume()
        s.lab.start_scheduler()
        s.lab.wait_for_pools(2)

        s.step("2. Each backend is a services row and a queue of its own")
        s.service_table()
        for backend in ("lvmdriver-1", "whatever_it_is"):
            queue = f"cinder-volume.{HOST}@{backend}"
            s.check(s.queue_is(queue, consumers=1), f"queue {queue} has one consumer")
        s.check(
            s.queue_is("cinder-volume", consumers=2),
            "queue cinder-volume is shared: both backends consume it",
        )

        s.step("3. The scheduler writes host@backend#pool; pool = volume_backend_name")
        with s.watch() as events:
            v1 = s.create_volume(volume_type="lvmdriver-1")
            v2 = s.create_volume(volume_type="new_lvm_backend")
        for event in events:
            s.out(describe(event))
        s.check(v1.host == f"{HOST}@lvmdriver-1#lvmdriver-1", f"volume 1 host is {v1.host}")
        s.check(v2.host == f"{HOST}@whatever_it_is#new_lvm_backend", f"volume 2 host is {v2.host}")
        s.say(
            f"extract_host({v2.host!r}) = {volume_utils.extract_host(v2.host)!r}: "
            "the backend is the section name, the pool its volume_backend_name"
        )
        if s.broker.can_trace:
            keys = [e.routing_key for e in events if e.message.get("method") == "create_volume"]
            s.check(
                f"cinder-volume.{HOST}@whatever_it_is" in keys,
                "create_volume for volume 2 went to cinder-volume.<host>@whatever_it_is",
            )
