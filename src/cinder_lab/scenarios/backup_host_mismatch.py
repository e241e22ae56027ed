"""backup-host-mismatch: the note's failure, its fix, and the stale row left behind.

The steps live in :class:`NoteStory`, which ``make demo`` (``cmd/demo.py``) runs
too: the scenario checks each outcome, the demo prints what happens on the way.
"""

from __future__ import annotations

from pathlib import Path

from cinder_lab import exception
from cinder_lab.scenarios.base import Stage
from cinder_lab.volume import volume_utils

CEPH = {"ceph": {"volume_backend_name": "ceph"}}
OLD_ROWS = (
    ("cinder-backup", "maqi-kilo"),
    ("cinder-scheduler", "maqi-kilo"),
    ("cinder-volume", "maqi-kilo@ceph"),
)


class NoteStory:
    """The note's steps on a stage: maqi-kilo, ``[ceph] host`` moved, the ``[DEFAULT]`` fix.

    Lab-only: what an operator did to a Kilo (2015.1) deployment, as actions; they
    print nothing, so that the scenario and the demo each tell them their own way.
    """

    def __init__(self, stage: Stage) -> None:
        self.s = stage

    def start_kilo(self) -> Path:
        """cinder-volume ``[ceph]``, cinder-backup and cinder-scheduler on host maqi-kilo."""
        path = self.s.configure("kilo", {"host": "maqi-kilo", "enabled_backends": "ceph"}, CEPH)
        self.s.lab.start_all()
        self.s.lab.wait_for_pools(1)
        return path

    def move_backend_host(self) -> Path:
        """Restart cinder-volume with ``host = new_host_name`` in ``[ceph]``."""
        s = self.s
        s.lab.stop(s.lab.find("cinder-volume", "maqi-kilo@ceph"))
        # Until the old row is down the scheduler may still choose it, as in Cinder.
        s.wait_for(lambda: not s.is_up("cinder-volume", "maqi-kilo@ceph"), "old row down")
        path = s.configure(
            "bad",
            {"host": "maqi-kilo", "enabled_backends": "ceph"},
            {"ceph": {"volume_backend_name": "ceph", "host": "new_host_name"}},
        )
        # The old row is down, so the scheduler lists only new_host_name@ceph#ceph.
        s.lab.wait_for_backends(s.lab.start_volume())
        return path

    def refused_backup(self, volume_id: str) -> exception.ServiceNotFound | None:
        """backup-create for a volume; the refusal backup/api.py raises, or None if accepted."""
        try:
            self.s.create_backup(volume_id)
        except exception.ServiceNotFound as e:
            return e
        return None

    def fix_default_host(self) -> Path:
        """Stop everything, put ``host = new_host_name`` in ``[DEFAULT]``, start everything."""
        s = self.s
        s.lab.stop_all()
        path = s.configure("fixed", {"host": "new_host_name", "enabled_backends": "ceph"}, CEPH)
        s.lab.start_all()
        s.lab.wait_for_pools(1)
        return path

    def old_rows_down(self) -> bool:
        """Wait until maqi-kilo's rows turn down (service_down_time after their last beat)."""
        s = self.s
        return s.wait_for(lambda: not any(s.is_up(*row) for row in OLD_ROWS), "old rows down")


class BackupHostMismatch:
    """[ceph] host = new_host_name: volume and backup no longer agree on the host."""

    name = "backup-host-mismatch"
    summary = "[ceph] host = new_host_name breaks backups; [DEFAULT] host fixes them"

    def run(self, s: Stage) -> None:
        story = NoteStory(s)
        s.step("1. maqi-kilo: cinder-volume [ceph], cinder-backup, cinder-scheduler")
        story.start_kilo()
        v0 = s.create_volume()
        b0 = s.create_backup(v0.id)
        s.check(v0.host == "maqi-kilo@ceph#ceph", f"volume host {v0.host}")
        s.check(b0.status == "available", f"backup to cinder-backup.{b0.host}: {b0.status}")

        s.step("2. Add 'host = new_host_name' to [ceph] and restart cinder-volume")
        s.show_config(story.move_backend_host(), only=("host",))
        v1 = s.create_volume()
        s.check(v1.host == "new_host_name@ceph#ceph", f"new volume host {v1.host}")
        target = volume_utils.extract_host(v1.host, "host")
        s.say(
            f"backup/api.py looks for an up cinder-backup on {target!r}; the only one is maqi-kilo"
        )
        refused = story.refused_backup(v1.id)
        if refused is None:
            s.check(False, "backup-create is refused")
        else:
            s.check(
                str(refused) == "Service cinder-backup could not be found.", f"refused: {refused}"
            )

        s.step("3. The fix: host = new_host_name in [DEFAULT]; restart every service")
        s.show_config(story.fix_default_host(), only=("host",))
        b1 = s.create_backup(v1.id)
        s.check(
            (b1.status, b1.host) == ("available", "new_host_name"),
            f"backup to cinder-backup.{b1.host}: {b1.status}",
        )
        self.left_behind(s, story, v0.id)

    def left_behind(self, s: Stage, story: NoteStory, old_volume_id: str) -> None:
        """Step 4: the old rows, the old queue, and the volumes still on the old host."""
        s.step("4. What stays behind")
        story.old_rows_down()
        s.service_table()
        s.check(not s.is_up("cinder-volume", "maqi-kilo@ceph"), "maqi-kilo@ceph stays, down")
        s.check(
            s.queue_is("cinder-backup.maqi-kilo", consumers=0),
            "queue cinder-backup.maqi-kilo stays, with no consumer",
        )
        s.check(
            story.refused_backup(old_volume_id) is not None,
            "volumes still on maqi-kilo@ceph#ceph cannot be backed up",
        )
        s.say("(real Cinder moves them with cinder-manage volume update_host)")
