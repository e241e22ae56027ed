"""The note's story and the classic failures as runnable scenarios (``cinder-lab scenario``)."""

from cinder_lab.scenarios.backup_host_mismatch import BackupHostMismatch
from cinder_lab.scenarios.backup_restart import BackupRestart
from cinder_lab.scenarios.backup_through_the_releases import BackupThroughTheReleases
from cinder_lab.scenarios.cast_to_nowhere import CastToNowhere
from cinder_lab.scenarios.fanout import Fanout
from cinder_lab.scenarios.modern_cinder import ModernCinder
from cinder_lab.scenarios.multi_backend import MultiBackend
from cinder_lab.scenarios.service_down import ServiceDown
from cinder_lab.scenarios.shared_backend_failover import SharedBackendFailover
from cinder_lab.scenarios.version_mismatch import VersionMismatch

SCENARIOS = {
    s.name: s
    for s in (
        MultiBackend,
        BackupHostMismatch,
        ServiceDown,
        CastToNowhere,
        SharedBackendFailover,
        Fanout,
        VersionMismatch,
        ModernCinder,
        BackupThroughTheReleases,
        BackupRestart,
    )
}
