"""The single-process lab skips time on its own clock: rows turn down without waiting."""

from __future__ import annotations

import time

import pytest

from cinder_lab import clock, utils
from cinder_lab.common.config import CONF
from cinder_lab.db import api as db
from cinder_lab.lab import Lab


def states() -> dict[tuple[str, str], bool]:
    return {(s.binary, s.host): utils.service_is_up(s) for s in db.service_get_all()}


def test_skip_turns_stopped_and_hung_services_down_and_keeps_live_ones_up(memory_conf):
    clock.take_control()
    lab = Lab()
    try:
        lab.start_all()
        lab.stop(lab.find("cinder-volume", "maqi-kilo@ceph"))
        lab.find("cinder-backup", "maqi-kilo").stop_heartbeats()  # hung, still consuming
        start = time.monotonic()
        lab.skip(CONF.service_down_time + 1)
        assert time.monotonic() - start < CONF.service_down_time  # skipped, not waited
        assert states() == {
            ("cinder-backup", "maqi-kilo"): False,
            ("cinder-scheduler", "maqi-kilo"): True,
            ("cinder-volume", "maqi-kilo@ceph"): False,
        }
    finally:
        lab.close()
        clock.release()


def test_skip_needs_a_clock_the_lab_controls(memory_conf):
    lab = Lab()
    try:
        with pytest.raises(RuntimeError, match="single-process"):
            lab.skip(1)
    finally:
        lab.close()
