"""backup-host-mismatch: the note's failure, its fix, and the stale row left behind."""

from __future__ import annotations

from cinder_lab import exception
from cinder_lab.scenarios.base import Stage
from cinder_lab.volume import volume_utils

CEPH = {"ceph": {"volume_backend_name": "ceph"}}


class BackupHostMismatch:
    """[ceph] host = new_host_name: volume and backup no longer agree on the host."""

    name = "backup-host-mismatch"
    summary = "[ceph] host = new_host_name breaks backups; [DEFAULT] host fixes them"

    def run(self, s: Stage) -> None:
        s.step("1. maqi-kilo: cinder-volume [ceph], cinder-backup, cinder-scheduler")
        s.configure("kilo", {"host": "maqi-kilo", "enabled_backends": "ceph"}, CEPH)
        s.lab.start_all()
        s.lab.wait_for_pools(1)
        v0 = s.create_volume()
        b0 = s.create_backup(v0.id)
        s.check(v0.host == "maqi-kilo@ceph#ceph", f"volume host {v0.host}")
        s.check(b0.status == "available", f"backup to cinder-backup.{b0.host}: {b0.status}")

        s.step("2. Add 'host = new_host_name' to [ceph] and restart cinder-volume")
        s.lab.stop(s.lab.find("cinder-volume", "maqi-kilo@ceph"))
        # Until the old row is down the scheduler may still choose it, as in Cinder.
        s.wait_for(lambda: not s.is_up("cinder-volume", "maqi-kilo@ceph"), "old row down")
        bad = s.configure(
            "bad",
            {"host": "maqi-kilo", "enabled_backends": "ceph"},
            {"ceph": {"volume_backend_name": "ceph", "host": "new_host_name"}},
        )
        s.show_config(bad, only=("host",))
        s.lab.start_volume()
        s.lab.wait_for_pools(2)
        v1 = s.create_volume()
        s.check(v1.host == "new_host_name@ceph#ceph", f"new volume host {v1.host}")
        target = volume_utils.extract_host(v1.host, "host")
        s.say(
            f"backup/api.py looks for an up cinder-backup on {target!r}; the only one is maqi-kilo"
        )
        try:
            s.create_backup(v1.id)
            s.check(False, "backup-create is refused")
        except exception.ServiceNotFound as e:
            s.check(str(e) == "Service cinder-backup could not be found.", f"refused: {e}")

        s.step("3. The fix: host = new_host_name in [DEFAULT]; restart every service")
        s.lab.stop_all()
        fixed = s.configure("fixed", {"host": "new_host_name", "enabled_backends": "ceph"}, CEPH)
        s.show_config(fixed, only=("host",))
        s.lab.start_all()
        s.lab.wait_for_pools(1)
        b1 = s.create_backup(v1.id)
        s.check(
            (b1.status, b1.host) == ("available", "new_host_name"),
            f"backup to cinder-backup.{b1.host}: {b1.status}",
        )

        s.step("4. What stays behind")
        old_rows = [
            ("cinder-backup", "maqi-kilo"),
            ("cinder-scheduler", "maqi-kilo"),
            ("cinder-volume", "maqi-kilo@ceph"),
        ]
        s.wait_for(lambda: not any(s.is_up(*row) for row in old_rows), "old rows down")
        s.service_table()
        s.check(not s.is_up("cinder-volume", "maqi-kilo@ceph"), "maqi-kilo@ceph stays, down")
        s.check(
            s.queue_is("cinder-backup.maqi-kilo", consumers=0),
            "queue cinder-backup.maqi-kilo stays, with no consumer",
        )
        try:
            s.create_backup(v0.id)
            s.check(False, "volumes still on maqi-kilo@ceph#ceph cannot be backed up")
        except exception.ServiceNotFound:
            s.check(True, "volumes still on maqi-kilo@ceph#ceph cannot be backed up")
        s.say("(real Cinder moves them with cinder-manage volume update_host)")
