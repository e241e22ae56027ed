"""Config parsing, backend hosts, URL masking and liveness."""

import datetime
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinder_lab import exception, utils
from cinder_lab.common import config, names
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
        # oslo.messaging (urllib) takes the host after the last '@' of the authority.
        ("rabbit://u:Zq9Se@cretPw@host/", "rabbit://u:***@host/"),
        ("rabbit://u:p@h1,u:Zq9@Se@h2:5673/v", "rabbit://u:***@h1,u:***@h2:5673/v"),
        # A '/' in the password: SQLAlchemy reads it to the '@'; urllib would end the host.
        ("mysql+pymysql://u:Zq9Se/cretPw@h/db", "mysql+pymysql://u:***@h/db"),
        ("mysql+pymysql://u:12/34@h/db", "mysql+pymysql://u:***@h/db"),
        ("mysql+pymysql://u:Zq9@Se/cret@h/db?charset=x", "mysql+pymysql://u:***@h/db?charset=x"),
        ("rabbit://u:a,b@h/", "rabbit://u:***@h/"),
        ("rabbit://u:x@h2,y@h/", "rabbit://u:***@h/"),
        ("bad 'rabbit://u:p@h/': refused", "bad 'rabbit://u:***@h/': refused"),
        ('{"url": "rabbit://u:p@h/", "x": "a:b@c"}', '{"url": "rabbit://u:***@h/", "x": "a:b@c"}'),
        # A queue name with '@' in a management URL's path is no password.
        (
            "http://h:15672/api/queues/%2F/cinder-volume.h@b",
            "http://h:15672/api/queues/%2F/cinder-volume.h@b",
        ),
        ("sqlite:////tmp/a@b/lab.sqlite", "sqlite:////tmp/a@b/lab.sqlite"),
    ],
)
def test_mask_url(url, expected):
    assert utils.mask_url(url) == expected


PASSWORD = st.text(alphabet="abc@/:,%.-_ ".replace(" ", ""), min_size=1, max_size=12).filter(
    lambda p: any(c.isalpha() for c in p)
)


@settings(max_examples=300)
@given(password=PASSWORD, scheme=st.sampled_from(["rabbit", "mysql+pymysql", "http"]))
def test_mask_url_never_shows_a_password(password, scheme):
    """Whatever the password holds, no run of it longer than its separators survives."""
    secret = f"Qx{password}Zy"
    text = f"error: {scheme}://user:{secret}@host.example:5672/vhost failed"
    masked = utils.mask_url(text)
    assert "Qx" not in masked and "Zy" not in masked, masked
    assert masked.startswith(f"error: {scheme}://user:***@"), masked


def test_a_dead_lab_thread_ends_its_process_in_one_line():
    """utils.spawn: the heartbeat, periodic tasks, watchdogs and tracers all start this way."""
    code = (
        "import threading, time; from cinder_lab import utils; from cinder_lab.cmd import common; "
        "common.setup_logging(); utils.spawn(lambda: time.sleep(1e10), 'maqi-kilo-heartbeat'); "
        "time.sleep(60)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == utils.THREAD_DIED, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "CRITICAL" in line and "thread maqi-kilo-heartbeat died: OverflowError" in line, line
    assert "Traceback" not in out.stderr


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


# -- names the broker or the database would read differently --------------------


@pytest.mark.parametrize(
    "host", ["maqi-openstack.novalocal", "maqi-kilo", "10.0.0.5", "h" * 255, "nöde_1"]
)
def test_legitimate_hosts_pass(host):
    assert config.check_host(host, "host") == host


@pytest.mark.parametrize(
    "bad", ["*", "#", "maqi.*", "a*b", "a@b", "a b", "a\x00b", "", "h" * 256, None]
)
def test_hosts_that_change_routing_or_get_clipped_are_refused(bad):
    with pytest.raises(exception.ConfigError, match="invalid host"):
        config.check_host(bad, "host")


@pytest.mark.parametrize("bad", ["ceph.maqi-kilo", "*", "#", "ce@ph", "", "ce ph"])
def test_backend_names_that_collide_or_wildcard_are_refused(bad):
    with pytest.raises(exception.ConfigError, match="backend name"):
        names.check_backend_name(bad)


@pytest.mark.parametrize("bad", ["cinder-volume.maqi-kilo@ceph", "cinder-*", "cinder-#", ""])
def test_topics_with_dots_or_wildcards_are_refused(bad):
    with pytest.raises(exception.ConfigError, match="volume_topic"):
        names.check_topic(bad, "volume_topic")


@pytest.mark.parametrize("bad", ["ceph#fast", "ce@ph", "fast pool"])
def test_pool_names_that_cut_the_host_string_are_refused(bad):
    with pytest.raises(exception.ConfigError, match="volume_backend_name"):
        names.check_pool_name(bad, "ceph")


def test_parse_args_refuses_a_wildcard_host_for_every_program(tmp_path):
    # host = * makes cinder-backup bind 'cinder-backup.*': every other host's backups.
    with pytest.raises(exception.ConfigError, match=r"\[DEFAULT\] host"):
        parse(tmp_path, "[DEFAULT]\nhost = *\n")


def test_parse_args_refuses_a_backend_listed_twice(tmp_path):
    with pytest.raises(exception.ConfigError, match="twice"):
        parse(tmp_path, "[DEFAULT]\nhost = a\nenabled_backends = ceph,ceph\n[ceph]\n")


def test_parse_args_refuses_a_volume_host_the_column_would_clip(tmp_path):
    text = f"[DEFAULT]\nhost = {'h' * 200}\nenabled_backends = ceph\n[ceph]\n"
    text += f"volume_backend_name = {'p' * 60}\n"
    with pytest.raises(exception.ConfigError, match="database keeps 255"):
        parse(tmp_path, text)


def test_volume_queues_use_backend_queue_and_ocata_adds_its_server(tmp_path):
    from cinder_lab import service
    from cinder_lab.volume import rpcapi

    parse(tmp_path, "[DEFAULT]\nhost = a.b\n")
    kilo = service.volume_queues("a.b@ceph")
    assert rpcapi.backend_queue("a.b@ceph", False) == "cinder-volume.a.b@ceph" in kilo
    CONF.set_override("lab_release", "current")
    try:
        ocata = service.volume_queues("a.b@ceph")
    finally:
        CONF.clear_override("lab_release")
    assert "cinder-volume.a.b@ceph.a.b" in ocata
    assert max(len(q) for q in ocata) == len("cinder-volume.a.b@ceph_fanout_") + 32


def test_queue_over_255_bytes_is_a_config_error():
    names.check_queue_names(["q" * 255], "x")
    with pytest.raises(exception.ConfigError, match="AMQP allows 255"):
        names.check_queue_names(["é" * 128], "x")  # 256 bytes in 128 characters


def test_oslo_versionedobjects_uuid_warning_never_reaches_stderr():
    """A non-UUID id (one a learner typed) made oslo.versionedobjects print three raw lines."""
    code = (
        "import cinder_lab; from oslo_versionedobjects import fields; "
        "fields.UUIDField().coerce(None, 'volume_id', 'not-a-uuid')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == "", out.stderr
