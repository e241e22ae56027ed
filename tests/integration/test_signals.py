"""Every service stops cleanly on SIGTERM, SIGINT and SIGHUP; no volume child outlives its parent.

Real processes on the real broker, each test in its own vhost. A clean stop is
exit code 0, a "stopped" line for every service, no warning (py-amqp's
"Received method (60, 30) during closing channel" was one on every stop), no
traceback, and no process left behind.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from cinder_lab import utils
from cinder_lab.db import api as db
from tests.procs import wait_until

SERVICES = {
    "cinder-lab-volume": ("cinder-volume", ["maqi-kilo@ceph", "maqi-kilo@lvm"]),
    "cinder-lab-backup": ("cinder-backup", ["maqi-kilo"]),
    "cinder-lab-scheduler": ("cinder-scheduler", ["maqi-kilo"]),
}


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def start_and_wait_up(rabbit_lab, script: str):
    conf = rabbit_lab.conf("lab", "maqi-kilo", {"ceph": "ceph", "lvm": "lvm"})
    proc = rabbit_lab.start(script, conf)
    binary, hosts = SERVICES[script]

    def all_up() -> bool:
        rows = {s.host: s for s in db.service_get_all() if s.binary == binary}
        return all(h in rows and rows[h].report_count > 1 for h in hosts)

    wait_until(all_up, timeout=60, what=f"{script}: rows of {hosts} heartbeating")
    wait_until(lambda: "starting" in proc.output(), what=f"{script} RPC server started")
    return proc, binary, hosts


def assert_clean_log(text: str, binary: str, hosts: list[str]) -> None:
    assert "Traceback" not in text, text[-3000:]
    assert "during closing channel" not in text, text[-3000:]
    bad = [line for line in text.splitlines() if " WARNING " in line or " ERROR " in line]
    assert not bad, bad
    for host in hosts:
        assert f"stopped {binary} on host {host}" in text, text[-3000:]


@pytest.mark.parametrize("script", list(SERVICES))
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=str)
def test_each_service_stops_cleanly_on_each_signal(rabbit_lab, script, signum):
    proc, binary, hosts = start_and_wait_up(rabbit_lab, script)
    kids = children(proc.proc.pid)
    assert len(kids) == (2 if script == "cinder-lab-volume" else 0), kids

    rabbit_lab.procs.remove(proc)
    proc.proc.send_signal(signum)
    code = proc.proc.wait(timeout=30)
    proc._log_file.close()

    assert code == 0, proc.output()[-3000:]
    assert not [k for k in kids if alive(k)], "a backend child outlived its launcher"
    assert_clean_log(proc.output(), binary, hosts)
    # The fanout queues are deleted and no queue keeps a consumer.
    queues = rabbit_lab.vhost.queues()
    assert not [q for q in queues if "_fanout_" in q], queues
    assert all(q["consumers"] == 0 for q in queues.values()), queues


def test_volume_children_stop_when_the_launcher_is_killed(rabbit_lab):
    proc, binary, hosts = start_and_wait_up(rabbit_lab, "cinder-lab-volume")
    kids = children(proc.proc.pid)
    assert len(kids) == 2

    rabbit_lab.procs.remove(proc)
    proc.kill()  # SIGKILL: the launcher cannot pass anything on

    wait_until(lambda: not any(alive(k) for k in kids), what="orphaned backend children to stop")
    assert_clean_log(proc.output(), binary, hosts)
    wait_until(
        lambda: all(q["consumers"] == 0 for q in rabbit_lab.vhost.queues().values()),
        what="every consumer gone",
    )


def test_die_with_parent_signals_a_child_whose_parent_is_gone(tmp_path):
    # The race prctl cannot cover: the parent died before the child asked.
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(7))
        utils.die_with_parent(os.getpid() + 10_000_000)  # "not my parent"
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


def test_a_second_process_with_the_same_host_is_warned_in_one_line(rabbit_lab):
    first, _binary, _hosts = start_and_wait_up(rabbit_lab, "cinder-lab-backup")
    conf = rabbit_lab.tmp / "lab.conf"
    second = rabbit_lab.start("cinder-lab-backup", conf)
    wait_until(lambda: " WARNING " in second.output(), what="the second one's warning")
    wait_until(lambda: "starting" in second.output(), what="the second cinder-lab-backup")
    warned = [line for line in second.output().splitlines() if " WARNING " in line]
    assert len(warned) == 1 and "already consume cinder-backup.maqi-kilo" in warned[0], warned
    assert " WARNING " not in first.output()
