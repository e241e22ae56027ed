"""backup-restart: a backup sent to a stopped cinder-backup ends ``error`` when it returns.

Mirrors what cinder/backup/manager.py does at start, in Kilo (``init_host``,
2015.1.4) and today (``_cleanup_incomplete_backup_operations``): before its
RPC server consumes, cinder-backup resets every ``creating`` backup of its
host to ``error``, "incomplete backup reset on manager restart". It cannot
tell a backup a killed run was making from one whose ``create_backup`` cast
still waits in its queue. The waiting cast is then served, finds the backup
``error`` and stops there: an operator surprise, since the backup was never started.
"""

from __future__ import annotations

from cinder_lab.backup import api as backup_api
from cinder_lab.backup.manager import INCOMPLETE
from cinder_lab.db import api as db
from cinder_lab.scenarios.base import Stage

QUEUE = "cinder-backup.maqi-kilo"
# The fail_reason each release's manager leaves once the waiting cast is served.
ENDING = {
    "kilo": "Create backup aborted, expected backup status creating but got error.",
    "current": "Create backup aborted, expected volume status backing-up but got available.",
}


class BackupRestart:
    """A backup cast waits for a stopped cinder-backup; its restart fails it."""

    name = "backup-restart"
    summary = "a backup waiting for a stopped cinder-backup ends error when the service returns"

    def run(self, s: Stage) -> None:
        for release in ("kilo", "current"):
            self.story(s, release)
        s.step("What to take away")
        s.say("Cinder resets by status, not by what was in flight: every 'creating' backup")
        s.say("of the host, queued or interrupted. Stop cinder-backup only when no backup")
        s.say("is 'creating' on its host; a backup that ended so can simply be made again.")

    def story(self, s: Stage, release: str) -> None:
        s.close()  # a fresh lab and database per release
        s.database = f"{release}.sqlite"
        s.step(f"{release}: maqi-kilo, then cinder-backup stops")
        s.configure(
            release,
            {"host": "maqi-kilo", "enabled_backends": "ceph", "lab_release": release},
            {"ceph": {"volume_backend_name": "ceph"}},
        )
        s.lab.start_all()
        s.lab.wait_for_pools(1)
        vol = s.create_volume()
        s.lab.stop(s.lab.find("cinder-backup", "maqi-kilo"))
        s.say("its row stays 'up' for service_down_time, so the API still accepts a backup")

        s.step(f"{release}: backup-create while nobody consumes {QUEUE}")
        backup = backup_api.API().create(s.ctxt, vol.id)
        s.check(s.queue_is(QUEUE, messages=1), f"the create_backup cast waits in {QUEUE}")
        row = db.backup_get(backup.id)
        s.check(row.status == "creating", f"backup {row.id[:8]}… is {row.status}")

        s.step(f"{release}: cinder-backup starts again")
        s.say(f"before consuming, it resets every creating backup of maqi-kilo: {INCOMPLETE!r}")
        s.lab.start_backup()
        s.wait_for(lambda: db.backup_get(backup.id).fail_reason == ENDING[release], "the cast")
        row = db.backup_get(backup.id)
        s.check(row.status == "error", f"the backup ends {row.status}")
        s.check(row.fail_reason == ENDING[release], f"then the waiting cast: {row.fail_reason!r}")
        volume = db.volume_get(vol.id)
        s.check(volume.status == "available", f"the volume is {volume.status} again")
        if release == "kilo":
            s.say("Kilo's reset left the volume 'backing-up'; the waiting cast put it back")
        else:
            s.say("today's reset put the volume back to its previous status at once")
