"""The pictures in docs/img, and the command that takes them again: ``make screenshots``.

Each picture is one page state at one viewport, set up by the browser test
that checks that state; ``SHOTS`` lists them. ``python -m tests.web.screenshots``
(``make screenshots``) runs those tests with ``CINDER_LAB_SCREENSHOTS=1``, so
``tests/web/conftest.py screenshot()`` writes into docs/img/, and fails when a
listed picture was not written again. ``screenshot()`` refuses a picture that is
not listed here, or taken at another viewport than listed: the list stays true.
``python -m tests.web.screenshots web-sequence`` retakes only the files whose
name contains ``web-sequence``. Broker pictures need the local RabbitMQ.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"


@dataclass(frozen=True)
class Shot:
    """A picture: the file, the test that sets the page up, the viewport (width, height)."""

    file: str
    test: str
    viewport: tuple[int, int]


LIVE = "tests/web/test_live_view.py::"
LIVE_BROKER = "tests/web/test_live_view_broker.py::"
SEQ = "tests/web/test_sequence_view.py::"
SEQ_BROKER = "tests/web/test_sequence_view_broker.py::"
SHOTS = [
    Shot(
        "web-live.png", LIVE + "test_page_shows_the_notes_queues_with_their_services", (1280, 900)
    ),
    Shot(
        "web-message.png",
        LIVE + "test_backup_create_travels_to_the_backup_then_the_volume_service[current]",
        (1280, 900),
    ),
    Shot("web-1280.png", LIVE + "test_no_two_boxes_overlap[1280]", (1280, 900)),
    Shot("web-1920.png", LIVE + "test_no_two_boxes_overlap[1920]", (1920, 900)),
    Shot("web-story.png", LIVE + "test_story_mode_runs_the_note_one_step_at_a_time", (1280, 900)),
    Shot(
        "web-rabbitmq.png",
        LIVE_BROKER + "test_live_view_of_a_backup_create_on_rabbitmq",
        (1280, 900),
    ),
    Shot(
        "web-sequence-1280.png", SEQ + "test_a_backup_as_a_sequence[current-1280-800]", (1280, 800)
    ),
    Shot(
        "web-sequence-1920.png",
        SEQ + "test_a_backup_as_a_sequence[current-1920-1080]",
        (1920, 1080),
    ),
    Shot(
        "web-sequence-dropped-1280.png",
        SEQ + "test_a_dropped_cast_ends_at_its_exchange[1280-800]",
        (1280, 800),
    ),
    Shot(
        "web-sequence-dropped-1920.png",
        SEQ + "test_a_dropped_cast_ends_at_its_exchange[1920-1080]",
        (1920, 1080),
    ),
    Shot(
        "web-sequence-rabbitmq-1280.png",
        SEQ_BROKER + "test_a_backup_as_a_sequence_on_rabbitmq",
        (1280, 800),
    ),
    Shot(
        "web-sequence-rabbitmq-1920.png",
        SEQ_BROKER + "test_a_backup_as_a_sequence_on_rabbitmq",
        (1920, 1080),
    ),
]


def listed(file: str, viewport: tuple[int, int]) -> None:
    """Refuse a picture ``SHOTS`` does not list at this viewport."""
    known = {s.file: s.viewport for s in SHOTS}
    assert file in known, f"{file} is not listed in tests/web/screenshots.py SHOTS"
    assert known[file] == viewport, f"{file}: taken at {viewport}, listed at {known[file]}"


def main(argv: list[str]) -> int:
    """Run the tests of the pictures asked for (all by default); 1 if one was not taken."""
    shots = [s for s in SHOTS if not argv or any(a in s.file for a in argv)]
    if not shots:
        print(f"no picture matches {' '.join(argv)}", file=sys.stderr)
        return 1
    before = {
        s.file: (IMG / s.file).stat().st_mtime if (IMG / s.file).exists() else 0 for s in shots
    }
    tests = list(dict.fromkeys(s.test for s in shots))
    env = {**os.environ, "CINDER_LAB_SCREENSHOTS": "1"}
    code = subprocess.call(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", *tests], cwd=ROOT, env=env
    )
    stale = [
        s.file
        for s in shots
        if not (IMG / s.file).exists() or (IMG / s.file).stat().st_mtime == before[s.file]
    ]
    for file in stale:
        print(f"not taken again: docs/img/{file}", file=sys.stderr)
    return 1 if code or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
