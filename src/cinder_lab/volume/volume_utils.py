"""Host-string helpers; mirrors cinder/volume/volume_utils.py (extract_host and friends).

A volume's ``host`` column reads ``host@backend#pool``:
``host`` names the machine (or ``[DEFAULT] host`` / ``backend_host``),
``backend`` the section listed in ``enabled_backends``,
``pool`` the pool the scheduler chose (``volume_backend_name`` for LVM-like drivers).
"""

from __future__ import annotations

import platform
import re
import socket
import sys
import uuid

from cinder_lab import exception

DEFAULT_POOL_NAME = "_pool0"


def extract_host(
    host: str | None, level: str = "backend", default_pool_name: bool = False
) -> str | None:
    """Return the ``host``, ``backend`` or ``pool`` part of ``host@backend#pool``.

    Mirrors cinder.volume.volume_utils.extract_host:

    >>> extract_host('HostA@BackendB#PoolC', 'host')
    'HostA'
    >>> extract_host('HostA@BackendB#PoolC')
    'HostA@BackendB'
    >>> extract_host('HostA@BackendB#PoolC', 'pool')
    'PoolC'
    >>> extract_host('HostX@BackendY', 'pool') is None
    True
    >>> extract_host('HostX@BackendY', 'pool', True)
    '_pool0'
    """
    if host is None:
        raise exception.InvalidVolume(reason="volume is not assigned to a host")

    if level == "host":
        # Drop the pool first, then the backend: 'HostA@BackendB#PoolC' -> 'HostA'.
        hst = host.split("#")[0]
        return hst.split("@")[0]
    if level == "backend":
        return host.split("#")[0]
    if level == "pool":
        parts = host.split("#")
        if len(parts) == 2:
            return parts[1]
        if default_pool_name is True:
            return DEFAULT_POOL_NAME
        return None
    # Cinder returns None for a level it does not know; so do we.
    return None


def append_host(host: str | None, pool: str | None) -> str | None:
    """Return ``host#pool``, or ``host`` unchanged when either part is empty.

    Mirrors cinder.volume.volume_utils.append_host.
    """
    if not host or not pool:
        return host
    return f"{host}#{pool}"


def hosts_are_equivalent(host_1: str | None, host_2: str | None) -> bool:
    """True when both strings name the same backend (pools are ignored).

    Mirrors cinder.volume.volume_utils.hosts_are_equivalent.
    """
    # With an empty side Cinder compares the raw values: None == None, '' != None.
    if not (host_1 and host_2):
        return host_1 == host_2
    return extract_host(host_1) == extract_host(host_2)


def check_host_string(host: str | None) -> str:
    """``host[@backend][#pool]`` with no empty part and no space, or InvalidHost.

    The lab's one validator of a host string typed by a user (``route``,
    ``extract-host``); Cinder itself never validates, it only splits.
    """
    parts = re.split(r"[@#]", host) if host else [""]
    if (
        not host
        or any(c.isspace() for c in host)
        or host.count("#") > 1
        or host.count("@") > 1
        or ("#" in host and "@" in host and host.index("#") < host.index("@"))
        or any(not p for p in parts)
    ):
        raise exception.InvalidHost(reason=f"{host!r} is not host[@backend][#pool]")
    return host


def brick_get_connector_properties(
    multipath: bool = False, enforce_multipath: bool = False
) -> dict:
    """What os-brick's ``get_connector_properties`` returns on a plain Linux host.

    Mirrors cinder.volume.volume_utils.brick_get_connector_properties (today),
    which the backup manager sends with ``initialize_connection``: the
    machine's hostname (not ``[DEFAULT] host``), its address, the generic
    multipath flags, an iSCSI initiator name, RBD's ``do_local_attach``, and
    NVMe-oF's host uuids. The lab has no iSCSI or NVMe: the initiator and the
    uuids are made up from the hostname (stable per machine), as open-iscsi and
    the firmware would give a real one; no ``wwpns`` (no Fibre Channel) and no
    ``nqn`` (no NVMe).
    """
    hostname = socket.gethostname()
    machine = uuid.uuid5(uuid.NAMESPACE_DNS, hostname)
    return {
        "platform": platform.machine(),
        "os_type": sys.platform,
        "ip": _my_ip(),
        "host": hostname,
        "multipath": multipath,
        "enforce_multipath": enforce_multipath,
        "initiator": f"iqn.1993-08.org.debian:01:{machine.hex[:12]}",
        "do_local_attach": False,
        "uuid": str(uuid.uuid5(machine, "root-filesystem")),
        "system uuid": str(machine),
        "nvme_native_multipath": False,
    }


def _my_ip() -> str:
    """Cinder's ``my_ip`` default: the address of the interface of the default route."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"
