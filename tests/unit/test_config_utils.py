"""Config parsing, backend hosts, URL masking and liveness."""

import datetime

import pytest

from cinder_lab import exception, utils
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from tests.conftest import write_conf


def parse(tmp_path, text):
    path = write_conf(tmp_path / "c.conf", text)
    config.parse_args(["--config-file", str(path)])
    return path


def test_backend_host_defaults_to_default_host(tmp_path):
    parse(
        tmp_path,
        """
        [DEFAULT]
        host = maqi-openstack.novalocal
        enabled_backends = lvmdriver-1,whatever_it_is
        [lvmdriver-1]
        volume_backend_name = lvmdriver-1
        [whatever_it_is]
        volume_backend_name = new_lvm_backend
        """,
    )
    assert [config.backend_host(b) for b in CONF.enabled_backends] == [
        "maqi-openstack.novalocal@lvmdriver-1",
        "maqi-openstack.novalocal@whatever_it_is",
    ]
    assert config.backend_conf("whatever_it_is").volume_backend_name == "new_lvm_backend"


@pytest.mark.parametrize("spelling", ["host", "backend_host"])
def test_backend_host_override_both_spellings(tmp_path, spelling):
    # Kilo's 'host' in the backend section is the note's spelling.
    parse(
        tmp_path,
        f"""
        [DEFAULT]
        host = maqi-kilo
        enabled_backends = ceph
        [ceph]
        volume_backend_name = ceph
        {spelling} = new_host_name
        """,
    )
    assert config.backend_host("ceph") == "new_host_name@ceph"
    assert CONF.host == "maqi-kilo"


def test_backend_without_section_is_an_error(tmp_path):
    parse(
        tmp_path,
        """
        [DEFAULT]
        enabled_backends = ceph,lost
        [ceph]
        volume_backend_name = ceph
        """,
    )
    with pytest.raises(exception.ConfigError, match=r"'lost'.*no \[lost\] section"):
        config.backend_host("lost")


def test_missing_config_file(tmp_path):
    with pytest.raises(exception.ConfigError, match="not found"):
        config.parse_args(["--config-file", str(tmp_path / "nope.conf")])


def test_malformed_config_file(tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text("[DEFAULT\nhost = x\n")
    with pytest.raises(exception.ConfigError, match="cannot parse"):
        config.parse_args(["--config-file", str(path)])


@pytest.mark.parametrize("bad", ["", "a b", "a@b", "a#b"])
def test_check_name_rejects_routing_breakers(bad):
    with pytest.raises(exception.ConfigError):
        config.check_name(bad, "host")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rabbit://guest:s3cret@127.0.0.1:5672/", "rabbit://guest:***@127.0.0.1:5672/"),
        (
            "rabbit://u:p1@h1:5672,v:p2@h2:5672/vh",
            "rabbit://u:***@h1:5672,v:***@h2:5672/vh",
        ),
        (
            "mysql+pymysql://root:pw@127.0.0.1/lab",
            "mysql+pymysql://root:***@127.0.0.1/lab",
        ),
        ("rabbit://127.0.0.1:5672/", "rabbit://127.0.0.1:5672/"),
        ("error at rabbit://a:b@h/ now", "error at rabbit://a:***@h/ now"),
        ("kombu+memory:////", "kombu+memory:////"),
    ],
)
def test_mask_url(url, expected):
    assert utils.mask_url(url) == expected


class Row:
    def __init__(self, updated_at, created_at=None):
        self.updated_at = updated_at
        self.created_at = created_at


def test_service_is_up_follows_service_down_time(tmp_path):
    parse(
        tmp_path,
        """
        [DEFAULT]
        service_down_time = 60
        """,
    )
    now = utils.utcnow()
    assert utils.service_is_up(Row(now - datetime.timedelta(seconds=59)))
    assert not utils.service_is_up(Row(now - datetime.timedelta(seconds=61)))
    # No heartbeat yet: the creation time counts, as in Cinder.
    assert utils.service_is_up(Row(None, now))
    assert not utils.service_is_up(Row(None, None))
