"""Versioned objects on the wire; mirrors cinder/objects/ of today's Cinder (lab_release = current).

The lab's database stays its SQLAlchemy tables; these objects are what a
message carries. Registering a class also sets it as an attribute of this
package (``cinder_lab.objects.Volume``), as Cinder's registry hook does.
"""

from __future__ import annotations

import importlib

# The modules whose classes the registry must know before a message arrives.
OBJECT_MODULES = (
    "cinder_lab.objects.volume",
    "cinder_lab.objects.backup",
    "cinder_lab.objects.backup_device",
    "cinder_lab.objects.request_spec",
    "cinder_lab.objects.volume_type",
)


def register_all() -> None:
    """Import every object module so its classes register; mirrors cinder.objects.register_all."""
    for name in OBJECT_MODULES:
        importlib.import_module(name)
