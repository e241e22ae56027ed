"""extract_host, append_host and hosts_are_equivalent, with Cinder's edge cases."""

import pytest

from cinder_lab import exception
from cinder_lab.volume import volume_utils as vu


@pytest.mark.parametrize(
    ("host", "level", "default_pool", "expected"),
    [
        ("HostA@BackendB#PoolC", "host", False, "HostA"),
        ("HostA@BackendB#PoolC", "backend", False, "HostA@BackendB"),
        ("HostA@BackendB#PoolC", "pool", False, "PoolC"),
        ("HostA@BackendB#PoolC", "pool", True, "PoolC"),
        ("HostX@BackendY", "host", False, "HostX"),
        ("HostX@BackendY", "backend", False, "HostX@BackendY"),
        ("HostX@BackendY", "pool", False, None),
        ("HostX@BackendY", "pool", True, "_pool0"),
        ("HostA#PoolC", "host", False, "HostA"),
        ("HostA#PoolC", "backend", False, "HostA"),
        ("HostA#PoolC", "pool", False, "PoolC"),
        ("HostA", "host", False, "HostA"),
        ("HostA", "pool", True, "_pool0"),
        # Two '#' is not a pool: Cinder wants exactly one.
        ("HostA@B#P1#P2", "pool", False, None),
        ("HostA@B#P1#P2", "pool", True, "_pool0"),
        ("HostA@B#P1#P2", "backend", False, "HostA@B"),
        (
            "maqi-openstack.novalocal@lvmdriver-1#lvmdriver-1",
            "host",
            False,
            "maqi-openstack.novalocal",
        ),
        (
            "maqi-openstack.novalocal@whatever_it_is#new_lvm_backend",
            "backend",
            False,
            "maqi-openstack.novalocal@whatever_it_is",
        ),
        ("new_host_name@ceph#ceph", "host", False, "new_host_name"),
        ("", "host", False, ""),
        ("", "pool", False, None),
    ],
)
def test_extract_host(host, level, default_pool, expected):
    assert vu.extract_host(host, level, default_pool) == expected


def test_extract_host_default_level_is_backend():
    assert vu.extract_host("HostA@BackendB#PoolC") == "HostA@BackendB"


def test_extract_host_unknown_level_is_none():
    assert vu.extract_host("HostA@BackendB#PoolC", "rack") is None


def test_extract_host_none_raises_invalid_volume():
    with pytest.raises(exception.InvalidVolume, match="not assigned to a host"):
        vu.extract_host(None, "host")


def test_default_pool_name_needs_true_not_truthy():
    # Cinder tests `is True`: a truthy string does not count.
    assert vu.extract_host("HostX@BackendY", "pool", "yes") is None


@pytest.mark.parametrize(
    ("host", "pool", "expected"),
    [
        ("HostA@BackendB", "PoolC", "HostA@BackendB#PoolC"),
        ("HostA@BackendB", None, "HostA@BackendB"),
        ("HostA@BackendB", "", "HostA@BackendB"),
        (None, "PoolC", None),
        ("", "PoolC", ""),
    ],
)
def test_append_host(host, pool, expected):
    assert vu.append_host(host, pool) == expected


def test_append_then_extract_round_trip():
    host = vu.append_host("maqi-kilo@ceph", "ceph")
    assert vu.extract_host(host, "pool") == "ceph"
    assert vu.extract_host(host) == "maqi-kilo@ceph"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("HostA@BackendB#Pool1", "HostA@BackendB#Pool2", True),
        ("HostA@BackendB", "HostA@BackendB#Pool2", True),
        ("HostA@BackendB", "HostA@BackendC", False),
        ("HostA@BackendB", "HostB@BackendB", False),
        (None, None, True),
        ("", "", True),
        (None, "HostA", False),
        ("HostA", None, False),
        ("", None, False),
    ],
)
def test_hosts_are_equivalent(a, b, expected):
    assert vu.hosts_are_equivalent(a, b) is expected
