"""cast-to-nowhere: dropped casts, casts that wait in a queue, calls that time out.

Runs under Kilo (``lab_release = kilo``): the create_backup cast carries only
``backup_id``, and the call that times out is ``initialize_connection``, the
one Nova makes to attach a volume (Kilo's backup made no call at all).
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import oslo_messaging as messaging

from cinder_lab.backup import rpcapi as backup_rpcapi
from cinder_lab.db import api as db
from cinder_lab.observe.envelope import describe
from cinder_lab.scenarios.base import Stage
from cinder_lab.volume import rpcapi as volume_rpcapi


class CastToNowhere:
    """What RabbitMQ does with a message nobody is there to take."""

    name = "cast-to-nowhere"
    summary = "a cast with no queue is dropped; one to a stopped service waits; a call times out"

    def run(self, s: Stage) -> None:
        s.configure(
            "kilo",
            {
                "host": "maqi-kilo",
                "enabled_backends": "ceph",
                "rpc_response_timeout": 2,
                "lab_release": "kilo",
            },
            {"ceph": {"volume_backend_name": "ceph"}},
        )
        s.lab.start_all()
        s.lab.wait_for_pools(1)
        vol = s.create_volume()
        rpcapi = backup_rpcapi.BackupAPI()

        s.step("1. create_backup cast to host 'nowhere': no queue cinder-backup.nowhere")
        with s.watch() as events:
            rpcapi.create_backup(s.ctxt, SimpleNamespace(id=str(uuid.uuid4()), host="nowhere"))
        s.check(True, "the cast returned normally: no error for the sender")
        for event in events:
            s.out(describe(event))
        if s.broker.can_trace:
            dropped = [e for e in events if e.routing_key == "cinder-backup.nowhere"]
            s.check(bool(dropped) and dropped[0].queues == [], "the broker routed it to no queue")
        s.check("cinder-backup.nowhere" not in s.broker.queues(), "and no such queue exists")

        self.waits_in_a_stopped_queue(s, vol, rpcapi)

        s.step("3. A call to a backend with no server times out")
        s.say("initialize_connection: the call Nova makes to attach a volume (Kilo 1.0)")
        ghost = db.volume_update(vol.id, {"host": "ghost@ceph#ceph"})
        connector = {"host": "maqi-kilo", "initiator": "iqn.1993-08.org.debian:01:lab"}
        try:
            volume_rpcapi.VolumeAPI().initialize_connection(s.ctxt, ghost, connector)
            s.check(False, "initialize_connection raises MessagingTimeout")
        except messaging.MessagingTimeout:
            s.check(
                True, "initialize_connection raises MessagingTimeout after rpc_response_timeout"
            )
        db.volume_update(vol.id, {"host": "maqi-kilo@ceph#ceph"})

    def waits_in_a_stopped_queue(self, s: Stage, vol: object, rpcapi: object) -> None:
        """Step 2: a cast to a stopped cinder-backup waits; the restart then fails its backup."""
        s.step("2. A cast to a stopped service's queue waits there")
        s.lab.stop(s.lab.find("cinder-backup", "maqi-kilo"))
        # As backup/api.py leaves them: the volume backing-up, the backup creating.
        db.volume_update(vol.id, {"status": "backing-up"})
        backup = db.backup_create({"volume_id": vol.id, "status": "creating", "host": "maqi-kilo"})
        rpcapi.create_backup(s.ctxt, backup)
        s.check(
            s.wait_for(
                lambda: s.broker.queues().get("cinder-backup.maqi-kilo", (0, 0))[0] == 1,
                "the message to wait in the queue",
            ),
            "cinder-backup.maqi-kilo holds 1 message, 0 consumers",
        )
        s.lab.start_backup()
        s.check(
            s.queue_is("cinder-backup.maqi-kilo", messages=0),
            "served once the service is back: the queue is empty",
        )
        aborted = "Create backup aborted, expected backup status creating but got error."
        s.wait_for(lambda: db.backup_get(backup.id).fail_reason == aborted, "the backup")
        s.check(
            db.backup_get(backup.id).status == "error",
            "but the backup ends error: the restart reset it before the cast was served "
            "(see the backup-restart scenario)",
        )
