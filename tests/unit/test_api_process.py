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


def raw_request(port: int, request: bytes) -> bytes:
    """Send bytes as they are (no client would send these) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: s.recv(65536), b""))


HEAD = (
    b"POST /v3/admin/volumes HTTP/1.1\r\nHost: x\r\nX-Auth-Token: admin:admin\r\n"
    b"Content-Type: application/json\r\n"
)


@pytest.mark.parametrize(
    "request_bytes",
    [
        HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",  # not a chunk size
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\r\n",  # cut short
        HEAD + b"Content-Length: 100\r\n\r\n{",  # fewer bytes than announced
    ],
    ids=["bad-chunk-size", "cut-chunk", "short-body"],
)
def test_a_malformed_body_is_one_quiet_line(tmp_path, request_bytes):
    port = free_port()
    proc = LabProcess("cinder-lab-api", api_conf(tmp_path, port), tmp_path)
    try:
        wait_until(lambda: answers(port), 60, what="cinder-lab-api to listen")
        answer = raw_request(port, request_bytes)
        assert b" 500 " not in answer.split(b"\r\n", 1)[0], answer[:200]
        assert answers(port), "the API must serve on"
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.proc.wait(timeout=30) == 0, proc.output()
    finally:
        proc.stop()
    out = proc.output()
    assert "Traceback" not in out and " ERROR " not in out, out
    assert len([line for line in out.splitlines() if "/v3/admin/volumes" in line]) <= 1, out
