"""The cinder-lab-api process: it stops cleanly on each stop signal, and a port in use
or a bad option is one line and a non-zero exit (kombu+memory://, no broker needed)."""

from __future__ import annotations

import signal
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cinder_lab.common import config
from tests.procs import LabProcess, free_port, wait_until


def api_conf(tmp_path: Path, port: object) -> Path:
    path = tmp_path / "api.conf"
    config.write_config(
        path,
        {"host": "maqi-kilo", "transport_url": "kombu+memory:////"},
        {"database": {"connection": f"sqlite:///{tmp_path}/lab.sqlite"}, "api": {"port": port}},
    )
    return path


def answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
    except urllib.error.HTTPError as e:
        return e.code == 300
    except OSError:
        return False
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_stops_cleanly_on_each_stop_signal(tmp_path, signum):
    port = free_port()
    proc = LabProcess("cinder-lab-api", api_conf(tmp_path, port), tmp_path)
    try:
        wait_until(lambda: answers(port), 60, what="cinder-lab-api to listen")
        proc.proc.send_signal(signum)
        assert proc.proc.wait(timeout=30) == 0, proc.output()
    finally:
        proc.stop()
    assert "Traceback" not in proc.output()
    assert not answers(port)


def test_a_port_in_use_is_an_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = LabProcess("cinder-lab-api", api_conf(tmp_path, port), tmp_path)
        proc.proc.wait(timeout=60)
        code = proc.stop()
    assert code != 0
    assert "address already in use" in proc.output()
    assert "Traceback" not in proc.output()


def test_a_bad_port_is_one_line(tmp_path):
    proc = LabProcess("cinder-lab-api", api_conf(tmp_path, "nope"), tmp_path)
    proc.proc.wait(timeout=60)
    assert proc.stop() == 1
    (line,) = proc.output().splitlines()
    assert line.startswith("cinder-lab-api: error: Configuration error: ")
