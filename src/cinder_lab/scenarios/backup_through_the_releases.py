"""backup-through-the-releases: the note's story under Kilo and under today's Cinder.

Lab-only, a teacher's comparison. Each release runs on a fresh database:
today's clients pin themselves to the oldest ``services`` row, and a row left
by Kilo (no ``rpc_current_version``) would stop them with ServiceTooOld.
The two message sequences are then printed one block under the other, in
the same columns, and each release's ending of the note's story is checked:

- Kilo (2015.1.4): ``[ceph] host = new_host_name`` (the deprecated alias of
  ``backend_host``) moves the volumes to ``new_host_name@ceph``; backup/api.py
  finds no cinder-backup on ``new_host_name`` and refuses, nothing is sent.
  ``[DEFAULT] host = new_host_name`` for every service fixes it.
- today: ``[ceph] host`` is no option since Pike and is ignored;
  ``[ceph] backend_host = new_host_name`` does move the volumes, yet the
  backup succeeds: the scheduler picks any reporting cinder-backup, which
  reaches the volume over RPC. ``backup_use_same_host = true`` brings the
  host rule back, asynchronously: the API accepts, the backup ends ``error``.
"""

from __future__ import annotations

from cinder_lab import exception, rpc
from cinder_lab.observe.envelope import describe
from cinder_lab.scenarios.base import Stage

CEPH = {"volume_backend_name": "ceph"}
# Background reports, not part of the story.
QUIET = ("update_service_capabilities", "notify_service_capabilities")
Row = tuple[str, str, str, str, str]
ENDINGS = (
    ("kilo", "[ceph] host = new_host_name", "Service cinder-backup could not be found."),
    ("", "", "(nothing sent); fixed by [DEFAULT] host = new_host_name"),
    ("current", "[ceph] host = new_host_name", "ignored: no such option since Pike"),
    ("", "[ceph] backend_host = new_host_name", "available: any backup service, RPC to volume"),
    ("", "+ backup_use_same_host = true", "accepted, then error:"),
    ("", "", "Service not found for creating backup."),
)  # kind, method, version, routing key, argument names


def messages(events: list) -> list[Row]:
    """The requests and replies of a story step, in the order they were published."""
    rows = []
    for e in sorted(events, key=lambda e: e.time or 0):
        msg = e.message
        if msg.get("method") in QUIET or e.kind == "other":
            continue
        if e.kind == "reply":
            rows.append(("reply", "", "", "reply_<hex>", ""))
            continue
        names = ", ".join(sorted(msg.get("args") or {}))
        rows.append((e.kind, msg["method"], msg.get("version", ""), e.routing_key, names))
    return rows


def config_host(release: str, ceph: dict) -> str:
    """The volume service's row host for this ``[ceph]`` (Kilo also read the ``host`` alias)."""
    alias = ceph.get("host") if release == "kilo" else None
    return f"{ceph.get('backend_host') or alias or 'maqi-kilo'}@ceph"


class BackupThroughTheReleases:
    """The note's create and backup, Kilo beside today, and where each backup ends."""

    name = "backup-through-the-releases"
    summary = "the note's story under lab_release = kilo and = current, message for message"

    def run(self, s: Stage) -> None:
        seen: dict[str, dict[str, list[Row]]] = {}
        for release in ("kilo", "current"):
            seen[release] = self.story(s, release)
        self.side_by_side(s, seen)

    # -- one release -------------------------------------------------------------

    def start(self, s: Stage, release: str, name: str, default: dict, ceph: dict) -> None:
        """(Re)start every service with this config."""
        if s.lab is not None:
            s.lab.stop_all()
        path = s.configure(
            name,
            {"lab_release": release, "enabled_backends": "ceph", **default},
            {"ceph": {**CEPH, **ceph}},
        )
        s.show_config(path, only=("lab_release", "host", "backend_host", "backup_use_same_host"))
        s.lab.start_all()
        s.lab.wait_for_pools(1)
        # A reused Kilo row turns up again only with its first heartbeat, report_interval on.
        s.wait_for(
            lambda: s.is_up("cinder-volume", config_host(release, ceph)), "the volume service"
        )

    def story(self, s: Stage, release: str) -> dict[str, list[Row]]:
        """maqi-kilo's create and backup, then the note's change, under one release."""
        s.close()  # a fresh lab and a fresh database for each release (see the docstring)
        s.database = f"{release}.sqlite"
        rpc.reset_version_caps()
        s.step(f"{release}: create and back up a volume on maqi-kilo")
        self.start(s, release, release, {"host": "maqi-kilo"}, {})
        with s.watch() as created:
            vol = s.create_volume()
        with s.watch() as backed_up:
            backup = s.create_backup(vol.id)
        s.check(vol.host == "maqi-kilo@ceph#ceph", f"{release}: volume on {vol.host}")
        s.check(backup.status == "available", f"{release}: backup {backup.status}")
        answer = [e for e in backed_up if e.message.get("method") == "continue_backup"]
        if answer:  # today only: whole versioned objects travel (docs/objects.md)
            s.say("the volume service's answer, objects named by class, version and id:")
            s.out(describe(answer[0]))
        if release == "kilo":
            self.kilo_ending(s)
        else:
            self.current_ending(s)
        return {"create": messages(created), "backup": messages(backed_up)}

    def kilo_ending(self, s: Stage) -> None:
        s.step("kilo: [ceph] host = new_host_name (Kilo's alias of backend_host)")
        self.start(s, "kilo", "kilo-moved", {"host": "maqi-kilo"}, {"host": "new_host_name"})
        vol = s.create_volume()
        s.check(vol.host == "new_host_name@ceph#ceph", f"kilo: the new volume is on {vol.host}")
        with s.watch() as events:
            try:
                s.create_backup(vol.id)
                refused = None
            except exception.ServiceNotFound as e:
                refused = e
        s.check(
            str(refused) == "Service cinder-backup could not be found.",
            f"kilo: backup/api.py refuses: {refused}",
        )
        s.check(not messages(events), "kilo: nothing was sent")
        s.say("Kilo's cinder-backup read the volume itself, through its own driver for the")
        s.say("backend, so backup/api.py sent it to the volume's host: no backup runs there.")
        s.step("kilo: the fix, [DEFAULT] host = new_host_name for every service")
        self.start(s, "kilo", "kilo-fixed", {"host": "new_host_name"}, {})
        backup = s.create_backup(vol.id)
        s.check(
            (backup.status, backup.host) == ("available", "new_host_name"),
            f"kilo: backup {backup.status} on cinder-backup.{backup.host}",
        )

    def current_ending(self, s: Stage) -> None:
        s.step("current: [ceph] host = new_host_name is ignored (removed in Pike)")
        self.start(s, "current", "cur-alias", {"host": "maqi-kilo"}, {"host": "new_host_name"})
        vol = s.create_volume()
        s.check(vol.host == "maqi-kilo@ceph#ceph", f"current: the volume stays on {vol.host}")

        s.step("current: [ceph] backend_host = new_host_name")
        moved = {"backend_host": "new_host_name"}
        self.start(s, "current", "cur-moved", {"host": "maqi-kilo"}, moved)
        vol = s.create_volume()
        s.check(vol.host == "new_host_name@ceph#ceph", f"current: the new volume is on {vol.host}")
        backup = s.create_backup(vol.id)
        s.check(
            (backup.status, backup.host) == ("available", "maqi-kilo"),
            f"current: backup {backup.status} by cinder-backup.{backup.host}",
        )
        s.say("the scheduler picked a reporting cinder-backup (backup_use_same_host = false)")
        s.say("and that backup reached cinder-volume.new_host_name@ceph.new_host_name by RPC.")

        s.step("current: backup_use_same_host = true")
        same = {"host": "maqi-kilo", "backup_use_same_host": True}
        self.start(s, "current", "cur-same-host", same, moved)
        backup = s.create_backup(vol.id)  # the API accepts: the scheduler decides later
        s.check(
            (backup.status, backup.fail_reason)
            == ("error", "Service not found for creating backup."),
            f"current: accepted, then {backup.status}: {backup.fail_reason}",
        )

    # -- the comparison ----------------------------------------------------------

    def side_by_side(self, s: Stage, seen: dict[str, dict[str, list[Row]]]) -> None:
        """Both releases' messages in one set of columns, one block per release."""
        widths = [6, 22, 5, 40]
        for phase in ("create", "backup"):
            s.step(f"{phase}: the messages each release sends (capability reports left out)")
            for release in ("kilo", "current"):
                s.out(f"   {release}:")
                for n, row in enumerate(seen[release][phase], start=1):
                    cells = "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True))
                    s.out(f"   {n:>2} {cells}  {row[4]}".rstrip())
        kilo, current = seen["kilo"], seen["current"]
        s.check(
            [r[1] for r in kilo["backup"]] == ["create_backup"],
            "kilo: one create_backup cast (backup_id), the volume read locally",
        )
        s.check(
            [r[1] for r in current["backup"] if r[0] != "reply"]
            == [
                "create_backup",
                "create_backup",
                "get_backup_device",
                "continue_backup",
                "initialize_connection",
                "terminate_connection",
                "remove_export",
            ],
            "current: scheduler, backup, get_backup_device/continue_backup, three calls",
        )
        s.step("where the note's backup ends")
        for release, change, ending in ENDINGS:
            arrow = "-> " if change else "   "  # a continued ending
            s.say(f"{release:<8}{change:<36}{arrow}{ending}")
