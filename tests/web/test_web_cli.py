"""``cinder-lab web`` as a command: it serves, stops cleanly, and refuses bad input on one line.

No browser here: the page's JSON API and event stream over plain HTTP.
"""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.procs import BIN, LabProcess, free_port, run_cli, wait_until


def get(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_serves_the_in_process_lab_and_stops_cleanly(memory_conf, tmp_path):
    port = free_port()
    web = LabProcess("cinder-lab", memory_conf, tmp_path, "web", "--port", str(port))
    try:
        wait_until(lambda: "open http://" in web.output(), timeout=60, what="cinder-lab web")
        assert f"watching the in-process broker; open http://127.0.0.1:{port}/" in web.output()
        base = f"http://127.0.0.1:{port}"
        status, topo = get(f"{base}/api/topology")
        assert status == 200
        ids = {e["data"]["id"] for e in topo["elements"]}
        assert {"q:cinder-backup.maqi-kilo", "q:cinder-volume.maqi-kilo@ceph"} <= ids
        assert {(s["binary"], s["state"]) for s in topo["services"]} == {
            ("cinder-volume", "up"),
            ("cinder-backup", "up"),
            ("cinder-scheduler", "up"),
        }
        # The event stream starts with the topology.
        with urllib.request.urlopen(f"{base}/api/events", timeout=10) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            assert stream.readline() == b"event: topology\n"
        # Bad requests: one-line JSON errors, nothing started.
        status, body = get(f"{base}/api/stories/no-such-story/start", "POST")
        assert status == 404 and list(body) == ["error"]
        assert body["error"].startswith("no story 'no-such-story' (known: ")
        assert get(f"{base}/api/stories/next", "GET")[0] == 405
        assert get(f"{base}/nothing-here")[0] == 404
        status, body = get(
            f"{base}/api/stories/cast-to-nowhere/start", "POST", {"Origin": "http://evil.example"}
        )
        assert (status, body) == (
            403,
            {"error": "cross-site request from http://evil.example refused"},
        )
        assert get(f"{base}/api/stories")[1]["state"]["status"] == "idle"
    finally:
        code = web.stop()
    assert code == 0, web.output()
    assert "Traceback" not in web.output()
    assert "stopped cinder-backup on host maqi-kilo" in web.output()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "0"], "invalid port '0': a number from 1 to 65535"),
        (["--port", "http"], "invalid port 'http': a number from 1 to 65535"),
        (["--host", "not an address"], "--host 'not an address' is not an IP address"),
    ],
)
def test_bad_arguments_are_one_line(memory_conf, args, message):
    out = run_cli(memory_conf, "web", *args, timeout=60)
    assert out.returncode != 0
    (line,) = out.stderr.strip().splitlines()
    assert message in line and "Traceback" not in out.stderr


def test_a_busy_port_is_one_line_and_starts_nothing(memory_conf):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = subprocess.run(
            [
                str(BIN / "cinder-lab"),
                "--config-file",
                str(memory_conf),
                "web",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert line.endswith(f"cannot listen on 127.0.0.1:{port}: Address already in use"), line
    assert "starting cinder-" not in out.stderr
