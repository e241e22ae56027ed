"""shared-backend-failover: two machines serve one backend under one backend_host."""

from __future__ import annotations

from cinder_lab.scenarios.base import Stage


def machine(s: Stage, name: str) -> None:
    s.configure(
        name,
        {"host": name, "enabled_backends": "ceph"},
        {"ceph": {"volume_backend_name": "ceph", "backend_host": "ceph-cluster"}},
    )


class SharedBackendFailover:
    """The note's Case 2: backend_host lets node-b keep serving what node-a created."""

    name = "shared-backend-failover"
    summary = "two machines with the same backend_host serve one backend; one dies, one serves"

    def run(self, s: Stage) -> None:
        s.step("1. node-a and node-b, both with [ceph] backend_host = ceph-cluster")
        machine(s, "node-a")
        (vol_a,) = s.lab.start_volume()
        machine(s, "node-b")
        (vol_b,) = s.lab.start_volume()
        s.lab.start_scheduler()
        s.lab.wait_for_pools(1)
        s.service_table()
        s.check(
            vol_a.host == vol_b.host == "ceph-cluster@ceph", "one services row: ceph-cluster@ceph"
        )
        s.check(
            s.queue_is("cinder-volume.ceph-cluster@ceph", consumers=2),
            "queue cinder-volume.ceph-cluster@ceph has two consumers",
        )

        s.step("2. Volumes: either machine may take a create_volume")
        vols = [s.create_volume() for _ in range(4)]
        s.check(
            all(v.host == "ceph-cluster@ceph#ceph" for v in vols), "hosts ceph-cluster@ceph#ceph"
        )
        s.say(
            f"node-a served {vol_a.manager.handled['create_volume']}, "
            f"node-b {vol_b.manager.handled['create_volume']}"
        )

        s.step("3. node-a dies; node-b keeps the row up and serves everything")
        s.lab.stop(vol_a)
        before = vol_b.manager.handled["create_volume"]
        more = [s.create_volume() for _ in range(3)]
        s.check(all(v.status == "available" for v in more), "new volumes still become available")
        s.check(vol_b.manager.handled["create_volume"] == before + 3, "node-b served all three")
        s.pause(3.5, "longer than service_down_time")
        s.check(s.is_up("cinder-volume", "ceph-cluster@ceph"), "the row stays up: node-b beats")
        s.say("with a per-machine host, node-a's volumes would be stranded on a down row")
