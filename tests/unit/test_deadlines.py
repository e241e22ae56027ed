"""utils.Deadlines: one thread watches every unanswered request (today's get_backup_device)."""

import threading

from cinder_lab import utils


def watcher_alive(name: str) -> bool:
    return any(t.name == name and t.is_alive() for t in threading.enumerate())


def test_only_what_was_not_cancelled_expires_then_the_thread_ends():
    fired = []
    seen_all = threading.Event()

    def expired(key, *args):
        fired.append((key, args))
        if key == "late-2":
            seen_all.set()

    deadlines = utils.Deadlines(expired, "test-deadlines")
    deadlines.watch("answered", 60, "a")
    deadlines.watch("late-1", 0, "b")
    deadlines.watch("late-2", 0, "c")
    assert deadlines.cancel("answered")
    assert not deadlines.cancel("answered")  # a second answer: nothing left to cancel
    assert seen_all.wait(10), "late-2 never expired"
    assert sorted(fired) == [("late-1", ("b",)), ("late-2", ("c",))]
    assert deadlines.watched() == 0
    assert utils.wait_until(lambda: not watcher_alive("test-deadlines"), 10)


def test_a_failing_callback_does_not_stop_the_watch_of_the_others(caplog):
    done = threading.Event()

    def expired(key):
        if key == "bad":
            raise RuntimeError("database gone")
        done.set()

    deadlines = utils.Deadlines(expired, "test-deadlines-bad")
    deadlines.watch("bad", 0)
    deadlines.watch("good", 0)
    assert done.wait(10), "the watch stopped after a failing callback"
    assert "test-deadlines-bad: bad: database gone" in caplog.text
