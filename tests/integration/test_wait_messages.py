"""The README's broker session: a volume placed on a backend that stopped.

The scheduler still places it there while the old row is ``up``; ``create
--wait`` then ends with what is true: the queue it waits in has no consumer.
"""

from __future__ import annotations

import json

from tests.procs import run_cli, wait_until


def test_wait_names_the_backend_queue_with_no_consumer(rabbit_lab):
    conf = rabbit_lab.conf(
        "kilo", "maqi-kilo", {"ceph": "ceph"}, extra_default="service_down_time = 120"
    )
    volume = rabbit_lab.start("cinder-lab-volume", conf)
    rabbit_lab.start("cinder-lab-scheduler", conf)

    def pools():
        out = run_cli(conf, "get-pools", "-f", "json")
        return out.returncode == 0 and json.loads(out.stdout)

    wait_until(pools, timeout=60, what="the scheduler to learn the ceph pool")
    assert rabbit_lab.stop(volume) == 0

    out = run_cli(conf, "create", "1", "--wait", "--wait-timeout", "2")
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 1, out.stderr
    assert "still creating after 2 s" in lines[0], lines[0]
    assert "its queue cinder-volume.maqi-kilo@ceph has no consumer" in lines[0], lines[0]
    assert "cinder-volume maqi-kilo@ceph is up" in lines[0], lines[0]
    assert "see cinder-lab route" in lines[0], lines[0]
