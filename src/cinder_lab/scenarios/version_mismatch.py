"""version-mismatch: today's Cinder pins its RPC clients to the oldest row in ``services``.

Mirrors ``cinder.rpc.RPCAPI.determine_rpc_version_cap`` and
``determine_obj_version_cap`` (Mitaka on): every service writes
``rpc_current_version`` and ``object_current_version`` into its row at start,
and every client caps itself at the oldest of its binary. A Wallaby (18.x)
cinder-volume row, RPC 3.16 and objects 1.38, makes the backup ask for the
device with the synchronous ``get_backup_device`` call (3.2) instead of
Yoga's cast answered by ``continue_backup``, and send the volume as Volume 1.8
(objects 1.38 predate 1.9's ``use_quota``; Cinder's Volume has no
``obj_make_compatible``, so the field stays in the data, only the version
drops). A row with no version (what a Kilo-era service left)
stops today's clients with ServiceTooOld. ``[upgrade_levels]`` is Nova's
mechanism; Cinder never had it (the lab keeps it only as a manual override).
"""

from __future__ import annotations

from cinder_lab import exception, rpc
from cinder_lab.db import api as db
from cinder_lab.objects.volume import Volume
from cinder_lab.observe.envelope import describe
from cinder_lab.scenarios.base import Stage
from cinder_lab.volume import rpcapi as volume_rpcapi

BACKEND = "maqi-kilo@ceph"
CONNECTOR = {"host": "maqi-kilo", "initiator": "iqn.1993-08.org.debian:01:lab"}


class VersionMismatch:
    """Automatic pinning from the services table, as today's Cinder does it."""

    name = "version-mismatch"
    summary = (
        "clients pin to the oldest services row: RPC 3.16 brings back the call, "
        "objects 1.38 send Volume 1.8; NULL refuses"
    )

    def run(self, s: Stage) -> None:
        sections = {"ceph": {"volume_backend_name": "ceph"}}
        default = {"host": "maqi-kilo", "enabled_backends": "ceph", "lab_release": "current"}
        s.configure("current", default, sections)
        rpc.reset_version_caps()  # a fresh database: pin from its rows, not a former run's
        s.lab.start_all()
        s.lab.wait_for_pools(1)
        vol = s.create_volume()

        s.step("1. Every service writes the version it speaks into its services row")
        for row in db.service_get_all():
            s.say(f"{row.binary:<17} {row.host:<15} rpc_current_version={row.rpc_current_version}")
        cap = volume_rpcapi.VolumeAPI().version_cap()
        s.check(cap == "3.20", f"a new cinder-volume client pins itself to {cap}")
        s.say("Cinder has no [upgrade_levels]: that is Nova's. Cinder pins automatically.")

        s.step("2. An older cinder-volume row (Wallaby: RPC 3.16, objects 1.38): the backup calls")
        row = db.service_get_by_args(BACKEND, "cinder-volume")
        db.service_update(row.id, {"rpc_current_version": "3.16", "object_current_version": "1.38"})
        rpc.reset_version_caps()  # as on SIGHUP or a restart: read the rows again
        s.say("services: cinder-volume maqi-kilo@ceph rpc_current_version = 3.16")
        s.say("          object_current_version = 1.38 (Volume 1.8: no use_quota yet)")
        s.lab.stop(s.lab.find("cinder-backup", "maqi-kilo"))
        s.lab.start_backup()  # the new process pins itself at start
        with s.watch() as events:
            backup = s.create_backup(vol.id)
        for event in events:
            if event.message.get("method") not in ("update_service_capabilities",):
                s.out(describe(event))
        s.check(backup.status == "available", f"backup {backup.status}")
        if s.broker.can_trace:
            asks = [
                (e.kind, e.message.get("version"))
                for e in events
                if e.message.get("method") == "get_backup_device"
            ]
            s.check(asks == [("call", "3.2")], "get_backup_device is a call at 3.2 (pinned)")
            continued = [e for e in events if e.message.get("method") == "continue_backup"]
            s.check(not continued, "no continue_backup: the device came back in the reply")
        self.check_objects(s, events)

        s.step("4. A services row with no version (left by a Kilo-era service)")
        db.service_create(
            {"host": "old-kilo@lvm", "binary": "cinder-volume", "topic": "cinder-volume"}
        )
        rpc.reset_version_caps()
        s.say("services: cinder-volume old-kilo@lvm rpc_current_version=NULL")
        volume = Volume.from_row(db.volume_get(vol.id), s.ctxt)
        with s.watch() as events:
            try:
                volume_rpcapi.VolumeAPI().initialize_connection(s.ctxt, volume, CONNECTOR)
                s.check(False, "the client refuses to pin")
            except exception.ServiceTooOld as e:
                s.check(True, f"ServiceTooOld: {e}")
        s.check(not events, "nothing was sent")
        rpc.reset_version_caps()

    def check_objects(self, s: Stage, events: list) -> None:
        """The volume travels at the old row's objects version; the Backup cannot go lower."""
        sent = {
            e.message["method"]: e.message["args"]
            for e in events
            if e.message.get("method") in ("initialize_connection", "get_backup_device")
        }
        volume = sent.get("initialize_connection", {}).get("volume", {})
        backup = sent.get("get_backup_device", {}).get("backup", {})
        s.step("3. The objects follow the oldest object_current_version")
        if not s.broker.can_trace:
            s.say("(this broker's messages cannot be read here: see `cinder-lab trace`)")
            return
        s.check(
            volume.get("versioned_object.version") == "1.8",
            "initialize_connection carries Volume 1.8 (capped at objects 1.38), not 1.9",
        )
        s.check(
            backup.get("versioned_object.version") == "1.7",
            "the Backup stays 1.7: Cinder's oldest manifest (1.38) already has Backup 1.7",
        )
        s.say("Each client caps at its binary's oldest row; a server's replies at every row's.")
