"""Bad input through the real console scripts: one line, non-zero exit, nothing changed."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest

from tests.conftest import write_conf
from tests.procs import BIN, run_cli

UNREACHABLE = "rabbit://guest:Sup3rSecret@127.0.0.1:1/"


def conf_for(tmp_path, transport_url="kombu+memory:////", extra=""):
    return write_conf(
        tmp_path / "lab.conf",
        f"""
        [DEFAULT]
        host = maqi-kilo
        transport_url = {transport_url}
        enabled_backends = ceph
        rpc_connect_retries = 1
        {extra}
        [database]
        connection = sqlite:///{tmp_path}/lab.sqlite
        [ceph]
        volume_backend_name = ceph
        """,
    )


def counts(tmp_path) -> tuple[int, int, int]:
    db = tmp_path / "lab.sqlite"
    if not db.exists():
        return (0, 0, 0)
    with sqlite3.connect(db) as c:
        return tuple(
            c.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("services", "volumes", "backups")
        )


def assert_one_line_error(out: subprocess.CompletedProcess, code: int = 1) -> str:
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope"], "Volume nope could not be found."),
        (["backup-show", "nope"], "Backup nope could not be found."),
        (["backup-create", "nope"], "Volume nope could not be found."),
        (["create", "0"], "size must be a positive integer"),
        (["create", "abc"], "size must be a positive integer"),
        (["create", "1.5"], "size must be a positive integer"),
        (["service-disable", "nohost", "cinder-backup"], "Could not find binary cinder-backup"),
        (["extract-host", "a#b#c"], "Invalid host"),
    ],
)
def test_client_bad_input(tmp_path, args, message):
    conf = conf_for(tmp_path)
    before = counts(tmp_path)
    line = assert_one_line_error(run_cli(conf, *args))
    assert message in line
    assert counts(tmp_path) == before


def test_missing_argument_is_one_line_usage_error(tmp_path):
    line = assert_one_line_error(run_cli(conf_for(tmp_path), "create"), code=2)
    assert "SIZE" in line


@pytest.mark.parametrize("content", [None, "[DEFAULT\nhost = x\n", "just words\n"])
def test_missing_or_malformed_config(tmp_path, content):
    path = tmp_path / "broken.conf"
    if content is not None:
        path.write_text(content)
    line = assert_one_line_error(run_cli(path, "service-list"))
    assert "broken.conf" in line


def test_unreachable_broker_is_bounded_masked_and_writes_nothing(tmp_path):
    conf = conf_for(tmp_path, transport_url=UNREACHABLE)
    out = run_cli(conf, "create", "1", timeout=60)
    line = assert_one_line_error(out)
    assert "rabbit://guest:***@127.0.0.1:1/" in line
    assert "Sup3rSecret" not in out.stderr + out.stdout
    assert counts(tmp_path)[1] == 0


def run_script(script, conf, timeout=60):
    return subprocess.run(
        [str(BIN / script), "--config-file", str(conf)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "script", ["cinder-lab-volume", "cinder-lab-backup", "cinder-lab-scheduler"]
)
def test_services_give_up_on_an_unreachable_broker(tmp_path, script):
    out = run_script(script, conf_for(tmp_path, transport_url=UNREACHABLE))
    line = assert_one_line_error(out)
    assert "Cannot reach the message broker at rabbit://guest:***@127.0.0.1:1/" in line
    assert "Sup3rSecret" not in out.stderr + out.stdout


def test_volume_service_needs_enabled_backends(tmp_path):
    conf = write_conf(tmp_path / "c.conf", "[DEFAULT]\nhost = h\n")
    assert "enabled_backends is empty" in assert_one_line_error(
        run_script("cinder-lab-volume", conf)
    )


def test_volume_service_backend_without_section(tmp_path):
    conf = write_conf(
        tmp_path / "c.conf",
        "[DEFAULT]\nhost = h\nenabled_backends = ceph,lost\n[ceph]\nvolume_backend_name = ceph\n",
    )
    line = assert_one_line_error(run_script("cinder-lab-volume", conf))
    assert "no [lost] section" in line
    assert counts(tmp_path) == (0, 0, 0)


def test_bad_host_in_config(tmp_path):
    conf = write_conf(tmp_path / "c.conf", "[DEFAULT]\nhost = a@b\n")
    assert "invalid [DEFAULT] host" in assert_one_line_error(run_script("cinder-lab-backup", conf))


def test_wait_that_runs_out_says_where_the_request_waits(tmp_path):
    # No scheduler anywhere: the request sits in cinder-scheduler. Never "ended creating: None".
    conf = conf_for(tmp_path)
    out = run_cli(conf, "create", "1", "--wait", "--wait-timeout", "0.5")
    line = assert_one_line_error(out)
    assert "still creating after 0.5 s" in line, line
    assert "its queue cinder-scheduler" in line and "no cinder-scheduler is up" in line, line
    assert "see cinder-lab route" in line and "None" not in line, line


def test_wait_on_a_placed_volume_names_its_backend_queue_and_service(tmp_path):
    conf = conf_for(tmp_path)
    run_cli(conf, "service-list")  # creates the schema
    with sqlite3.connect(tmp_path / "lab.sqlite") as c:
        c.execute(
            "insert into volumes (id, size, status, host, availability_zone, created_at) values "
            "('v1', 1, 'creating', 'maqi-kilo@ceph#ceph', 'nova', '2016-01-01 00:00:00')"
        )
        c.execute(
            "insert into services (host, binary, topic, availability_zone, disabled, "
            "report_count, created_at, updated_at) values ('maqi-kilo@ceph', 'cinder-volume', "
            "'cinder-volume', 'nova', 0, 3, '2016-01-01 00:00:00', '2016-01-01 00:00:00')"
        )
    from cinder_lab.cmd import waiting
    from cinder_lab.common import config
    from cinder_lab.db import api as db

    config.parse_args(["--config-file", str(conf)])
    try:
        text = str(waiting.failure("volume", db.volume_get("v1"), None, 8, {"creating"}))
    finally:
        db.dispose_engine()
    assert text.startswith(
        "volume v1 still creating after 8 s: its queue cinder-volume.maqi-kilo@ceph;"
    )
    assert "cinder-volume maqi-kilo@ceph is down (last heartbeat" in text


def test_a_failed_volume_without_a_reason_does_not_say_none(tmp_path):
    from types import SimpleNamespace

    from cinder_lab.cmd import waiting

    volume = SimpleNamespace(id="v1", status="error")
    text = str(waiting.failure("volume", volume, None, 8, {"creating"}))
    assert text == "volume v1 ended error: (no reason recorded)"


def test_show_prints_the_host_at_each_level(tmp_path):
    conf = conf_for(tmp_path)
    run_cli(conf, "service-list")
    with sqlite3.connect(tmp_path / "lab.sqlite") as c:
        c.execute(
            "insert into volumes (id, size, status, host, availability_zone, created_at) values "
            "('v1', 1, 'available', 'maqi-kilo@ceph#fast', 'nova', '2016-01-01 00:00:00')"
        )
    out = run_cli(conf, "show", "v1", "-f", "json")
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["os-vol-host-attr:host"] == "maqi-kilo@ceph#fast"
    assert (shown["level host"], shown["level backend"], shown["level pool"]) == (
        "maqi-kilo",
        "maqi-kilo@ceph",
        "fast",
    )


@pytest.mark.parametrize(
    ("host", "expect"),
    [
        ("maqi-kilo", "its queue cinder-backup.maqi-kilo; no cinder-backup maqi-kilo has ever"),
        (None, "its queue cinder-scheduler; no cinder-scheduler is up"),  # today: not placed yet
    ],
)
def test_a_backup_wait_names_the_queue_it_waits_in(tmp_path, host, expect):
    from types import SimpleNamespace

    from cinder_lab.cmd import waiting
    from cinder_lab.common import config
    from cinder_lab.db import api as db

    conf = conf_for(tmp_path)
    run_cli(conf, "service-list")  # creates the schema
    config.parse_args(["--config-file", str(conf)])
    backup = SimpleNamespace(id="b1", status="creating", host=host, volume_id="v-gone")
    try:
        text = str(waiting.failure("backup", backup, None, 3, {"creating"}))
    finally:
        db.dispose_engine()
    assert text.startswith(f"backup b1 still creating after 3 s: {expect}"), text
    assert text.endswith("see cinder-lab route v-gone --action backup"), text


def test_route_refuses_a_mistyped_volume_id(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text(f"[DEFAULT]\n[database]\nconnection = sqlite:///{tmp_path}/x.sqlite\n")
    # One hex digit short: not an id, and not to be taken for a host named so.
    out = run_cli(conf, "route", "3f2a77c1-0b1e-4c5e-9f6d-2b8a9c0d1e2")
    assert out.returncode == 1
    assert "is not a volume id" in out.stderr and len(out.stderr.strip().splitlines()) == 1
