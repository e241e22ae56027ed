"""What a launcher does before forking: warm the children's first steps, leave nothing behind."""

from __future__ import annotations

import gc
import os

from cinder_lab import clock, prefork, rpc, utils
from cinder_lab.db import api as db
from cinder_lab.db import engine


def test_warm_up_builds_and_keeps_nothing(memory_conf):
    engine.warm_up()
    assert db.service_get_all() == []


def test_before_fork_freezes_and_a_child_queries_through_the_kept_engine(memory_conf):
    db.service_create({"host": "h@b", "binary": "cinder-volume", "topic": "cinder-volume"})
    try:
        prefork.before_fork()
        assert gc.get_freeze_count() > 0
        assert not rpc.initialized()  # the warm-up transport is gone again
        kept = engine.get_engine()
        pid = os.fork()
        if pid == 0:
            # The child: same engine object, its own connection, the parent's row.
            ok = engine.get_engine() is kept and [s.host for s in db.service_get_all()] == ["h@b"]
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        gc.unfreeze()
        prefork._PREPARED = False


def test_dispose_engine_forgets_the_schema_check(memory_conf, tmp_path):
    db.get_engine()
    assert engine._SCHEMA_READY
    db.dispose_engine()
    assert not engine._SCHEMA_READY


def test_clock_is_real_until_a_single_process_run_takes_control():
    try:
        real = utils.utcnow()
        try:
            clock.advance(5)
        except RuntimeError as e:
            assert "single-process" in str(e)
        else:
            raise AssertionError("the clock moved without control")
        clock.take_control()
        clock.advance(3600)
        assert (utils.utcnow() - real).total_seconds() >= 3600
    finally:
        clock.release()
    assert (utils.utcnow() - real).total_seconds() < 60
