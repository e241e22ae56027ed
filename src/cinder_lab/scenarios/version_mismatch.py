"""version-mismatch: a newer client meets an older server; [upgrade_levels] fixes it."""

from __future__ import annotations

import oslo_messaging as messaging

from cinder_lab.common.config import CONF
from cinder_lab.context import RequestContext
from cinder_lab.db.models import Volume
from cinder_lab.scenarios.base import Stage
from cinder_lab.volume import rpcapi as volume_rpcapi


class NewerVolumeAPI(volume_rpcapi.VolumeAPI):
    """A volume client one minor version ahead of the servers, as in a rolling upgrade."""

    RPC_API_VERSION = "3.1"

    def get_backup_device(self, ctxt: RequestContext, backup_id: str, volume: Volume) -> dict:
        """Send 3.1 when the cap allows it, else fall back to 3.0 (Cinder's pattern)."""
        version = "3.1" if self.client.can_send_version("3.1") else "3.0"
        cctxt = self._get_cctxt(volume.host, version=version)
        return cctxt.call(ctxt, "get_backup_device", backup_id=backup_id, volume_id=volume.id)


class VersionMismatch:
    """RPC versions: the server refuses what it does not know; a cap makes the client wait."""

    name = "version-mismatch"
    summary = "a client asking for a newer RPC version gets UnsupportedVersion; a cap fixes it"

    def run(self, s: Stage) -> None:
        sections = {"ceph": {"volume_backend_name": "ceph"}}
        s.configure("kilo", {"host": "maqi-kilo", "enabled_backends": "ceph"}, sections)
        s.lab.start_all()
        s.lab.wait_for_pools(1)
        vol = s.create_volume()

        s.step("1. cinder-volume speaks 3.0; an upgraded client sends 3.1")
        try:
            NewerVolumeAPI().get_backup_device(s.ctxt, "b-1", vol)
            s.check(False, "the 3.1 call is refused")
        except messaging.UnsupportedVersion as e:
            s.check(True, f"UnsupportedVersion: {str(e).splitlines()[0]}")
        except messaging.RemoteError as e:
            s.check(e.exc_type == "UnsupportedVersion", f"the server answered {e.exc_type}")

        s.step("2. Pin the client: [upgrade_levels] volume = 3.0")
        path = s.configure(
            "pinned",
            {"host": "maqi-kilo", "enabled_backends": "ceph"},
            {**sections, "upgrade_levels": {"volume": "3.0"}},
        )
        s.show_config(path, only=("volume",))
        s.say(f"can_send_version('3.1') is now {NewerVolumeAPI().client.can_send_version('3.1')}")
        answer = NewerVolumeAPI().get_backup_device(s.ctxt, "b-1", vol)
        s.check(answer.get("served_by") == "maqi-kilo@ceph", f"the 3.0 call is served: {answer}")
        s.say(f"(cap read from CONF.upgrade_levels.volume = {CONF.upgrade_levels.volume})")
