"""service-down: heartbeats stop, the row turns down, backups are refused, it recovers."""

from __future__ import annotations

from cinder_lab import exception, utils
from cinder_lab.db import api as db
from cinder_lab.scenarios.base import Stage


class ServiceDown:
    """A cinder-backup that stops heartbeating, then comes back."""

    name = "service-down"
    summary = "heartbeats stop: down after service_down_time, backups refused, then recovery"

    def run(self, s: Stage) -> None:
        s.step("1. maqi-kilo with report_interval = 1, service_down_time = 3")
        s.configure(
            "kilo",
            {"host": "maqi-kilo", "enabled_backends": "ceph"},
            {"ceph": {"volume_backend_name": "ceph"}},
        )
        s.lab.start_all()
        s.lab.wait_for_pools(1)
        vol = s.create_volume()
        s.check(s.is_up("cinder-backup", "maqi-kilo"), "cinder-backup maqi-kilo is up")

        s.step("2. cinder-backup stops: no more heartbeats")
        stopped_at = utils.utcnow()  # stop() ends the heartbeat first; draining RPC may be slow
        s.lab.stop(s.lab.find("cinder-backup", "maqi-kilo"))
        before = db.service_get_by_args("maqi-kilo", "cinder-backup")
        last = before.updated_at or before.created_at  # a Kilo row has none before its first beat
        s.say(f"last heartbeat {last:%H:%M:%S}, report_count {before.report_count}")
        s.check(
            s.is_up("cinder-backup", "maqi-kilo", at=stopped_at),
            "right when it stops, the row still says up",
        )
        s.wait_for(lambda: not s.is_up("cinder-backup", "maqi-kilo"), "the row to turn down")
        s.check(not s.is_up("cinder-backup", "maqi-kilo"), "after service_down_time it is down")
        s.service_table()
        try:
            s.create_backup(vol.id)
            s.check(False, "backup-create is refused")
        except exception.ServiceNotFound as e:
            s.check(True, f"backup-create is refused: {e}")

        s.step("3. cinder-backup starts again: same row, heartbeats resume")
        s.lab.start_backup()
        s.wait_for(lambda: s.is_up("cinder-backup", "maqi-kilo"), "the row to turn up")
        after = db.service_get_by_args("maqi-kilo", "cinder-backup")
        s.check(after.id == before.id, f"the same services row (id {after.id}) is reused")
        backup = s.create_backup(vol.id)
        s.check(backup.status == "available", f"backup {backup.status}")
