"""The lab's volume driver; stands where cinder/volume/driver.py and a real driver stand.

It stores nothing: a volume is a row, its device a path named after the pool.
Kilo's cinder-backup built one of these per backend in its own process and
read the volume through it; today only cinder-volume holds drivers.
"""

from __future__ import annotations

from cinder_lab.volume import volume_utils


class LabDriver:
    """One backend section's driver: the device path of a volume and its export."""

    def __init__(self, host: str, backend: str, pool_name: str) -> None:
        self.host = host  # host@backend
        self.backend = backend
        self.pool_name = pool_name

    def local_path(self, volume: object) -> str:
        """Where the volume's data is on the machine that holds the backend."""
        pool = volume_utils.extract_host(volume.host, "pool", True)
        return f"/dev/{pool}/volume-{volume.id}"

    def initialize_connection(self, volume: object, connector: dict) -> dict:
        """Export the volume to ``connector``: what os-brick would attach."""
        return {
            "driver_volume_type": "lab",
            "data": {"device_path": self.local_path(volume), "access_mode": "rw"},
        }
