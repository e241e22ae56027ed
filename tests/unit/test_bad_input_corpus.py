"""A corpus of malformed config files and command-line arguments.

Each case must end with one line on stderr, a non-zero exit, no traceback, no
password, and a database exactly as it was (compared as a full SQL dump).
Config files live in tests/data/bad_input/configs/: their ``# expect:`` line
names a piece of the error, each ``# run:`` line a command to try them with;
``{db}`` stands for the test's SQLite file.
"""

from __future__ import annotations

import importlib
import logging
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from cinder_lab import rpc
from cinder_lab.db import api as db
from cinder_lab.db import models

CORPUS = Path(__file__).parent.parent / "data" / "bad_input" / "configs"
SECRETS = ("Pa55word", "Db5ecretPw")


def make_db(path: Path) -> Path:
    """A lab database with a service, a volume and a backup in it."""
    engine = create_engine(f"sqlite:///{path}")
    models.metadata("kilo").create_all(engine)
    engine.dispose()
    with sqlite3.connect(path) as c:
        c.execute(
            "insert into services (host, binary, topic, availability_zone, disabled, "
            "report_count, created_at) values ('maqi-kilo', 'cinder-backup', 'cinder-backup', "
            "'nova', 0, 3, '2016-01-01 00:00:00')"
        )
        c.execute(
            "insert into volumes (id, size, status, host, availability_zone, created_at) values "
            "('v1', 1, 'available', 'maqi-kilo@ceph#ceph', 'nova', '2016-01-01 00:00:00')"
        )
        c.execute(
            "insert into backups (id, volume_id, status, host, availability_zone, created_at) "
            "values ('b1', 'v1', 'available', 'maqi-kilo', 'nova', '2016-01-01 00:00:00')"
        )
    return path


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as c:
        return list(c.iterdump())


MAINS = {
    "cinder-lab": "cinder_lab.cmd.client",
    "cinder-lab-volume": "cinder_lab.cmd.volume",
    "cinder-lab-backup": "cinder_lab.cmd.backup",
    "cinder-lab-scheduler": "cinder_lab.cmd.scheduler",
    "cinder-lab-api": "cinder_lab.cmd.api",
}


def run(cmd: list[str], cwd: Path, capfd) -> subprocess.CompletedProcess:
    """Run a console script's main() in this process (one import, not one interpreter each).

    An exception escaping main() is exactly the traceback a user would see: it fails the test.
    """
    main = importlib.import_module(MAINS[cmd[0]]).main
    rpc.cleanup()  # nothing carried over from the previous case
    db.dispose_engine()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = main(cmd[1:])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        os.chdir(old)
        logging.getLogger().handlers[:] = []
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(cmd, code, out.encode(), err.encode())


def assert_clean_failure(out: subprocess.CompletedProcess, expect: str) -> str:
    stderr = out.stderr.decode("utf-8", "replace")
    stdout = out.stdout.decode("utf-8", "replace")
    lines = stderr.strip().splitlines()
    assert out.returncode != 0, (out.returncode, stdout, stderr)
    assert len(lines) == 1, stderr[:3000]
    assert "Traceback" not in stderr + stdout
    assert expect.lower() in lines[0].lower(), lines[0]
    assert not any(s in stderr + stdout for s in SECRETS), lines[0]
    return lines[0]


def corpus_cases() -> list:
    """Each file with each of its commands, under both releases where it has a [DEFAULT]."""
    cases = []
    for path in sorted(CORPUS.glob("*.conf")):
        text = path.read_bytes()
        head = text.decode("utf-8", "replace").splitlines()
        expect = next(
            line.split(":", 1)[1].strip() for line in head if line.startswith("# expect:")
        )
        releases = ["kilo", "current"] if b"\n[DEFAULT]\n" in text else ["as written"]
        for line in head:
            if not line.startswith("# run:"):
                continue
            cmd = line.split(":", 1)[1].split()
            for release in releases:
                case_id = f"{path.stem}-{cmd[-1]}-{release.split()[0]}"
                cases.append(pytest.param(path, cmd, expect, release, id=case_id))
    return cases


def with_release(text: bytes, release: str) -> bytes:
    """The file with ``lab_release`` set first in [DEFAULT] (a later line of its own wins)."""
    if release == "as written":
        return text
    return text.replace(b"\n[DEFAULT]\n", f"\n[DEFAULT]\nlab_release = {release}\n".encode(), 1)


@pytest.mark.parametrize(("path", "cmd", "expect", "release"), corpus_cases())
def test_malformed_config(tmp_path, capfd, path, cmd, expect, release):
    db = make_db(tmp_path / "lab.sqlite")
    conf = tmp_path / "bad.conf"
    conf.write_bytes(with_release(path.read_bytes(), release).replace(b"{db}", str(db).encode()))
    before = dump(db)
    if cmd[0] == "cinder-lab":
        argv = ["cinder-lab", "--config-file", str(conf), *cmd[1:]]
    else:
        argv = [cmd[0], "--config-file", str(conf)]
    assert_clean_failure(run(argv, tmp_path, capfd), expect)
    assert dump(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.conf", "lab.sqlite"]


GOOD = """[DEFAULT]
host = maqi-kilo
transport_url = kombu+memory:////
enabled_backends = ceph
[database]
connection = sqlite:///{db}
[ceph]
volume_backend_name = ceph
"""

BAD_ARGS = [
    (["create", "-1"], "SIZE"),  # argparse reads it as an option
    (["create", "1e3"], "size must be a positive integer"),
    (["create", ""], "size must be a positive integer"),
    (["create", "99999999999999999999999"], "size"),
    (["create", "1", "--wait-timeout", "soon"], "not a number of seconds"),
    (["create", "1", "--wait", "--wait-timeout", "-5"], "positive, finite"),
    (["create", "1", "--wait", "--wait-timeout", "nan"], "positive, finite"),
    (["create", "1", "--wait", "--wait-timeout", "inf"], "positive, finite"),
    (["create", "1", "--wait", "--wait-timeout", "0"], "positive, finite"),
    (["backup-create", "v1", "--wait", "--wait-timeout=-inf"], "positive, finite"),
    (["create", "1", "--volume-type"], "expected one argument"),
    (["show", ""], "could not be found"),
    (["show", "v1'; drop table volumes; --"], "could not be found"),
    (["show", "x" * 100_000], "xxx..."),
    (["show", "\udcff\udcfe"], "surrogates not allowed"),
    (["backup-show", "../../etc/passwd"], "could not be found"),
    (["backup-create", "b1"], "could not be found"),
    (["service-disable", "maqi-kilo"], "BINARY"),
    (["service-enable", "nohost", "cinder-backup"], "Could not find binary"),
    (["reset-state"], "ENTITY"),
    (["reset-state", "v1"], "Must specify 'status', 'attach_status' or 'migration_status'"),
    (["reset-state", "--state", "error", "nope"], "Volume nope could not be found"),
    (["reset-state", "--state", "nope", "v1"], "'nope' is not a 'volume_status'"),
    (["reset-state", "--attach-status", "attaching", "v1"], "not a 'volume_attach_status'"),
    (["reset-state", "--type", "snapshot", "v1"], "invalid choice"),
    (["reset-state", "--state", "error", "n1", "n2"], "Unable to reset the state"),
    (["backup-reset-state", "--state", "creating", "b1"], "not a 'backup_status'"),
    (["backup-reset-state", "nope"], "Backup nope could not be found"),
    (["extract-host", ""], "Invalid host"),
    (["extract-host", "a b@c"], "Invalid host"),
    (["extract-host", "h@b#p#q"], "Invalid host"),
    (["list", "-f", "pdf"], "invalid choice"),
    (["no-such-command"], "Unknown command"),
    (["--config-file"], "expected one argument"),
    (["--no-such-option", "list"], "Unknown command"),
]


@pytest.mark.parametrize(("args", "expect"), BAD_ARGS, ids=lambda v: str(v)[:30])
def test_bad_cli_arguments(tmp_path, capfd, args, expect):
    db = make_db(tmp_path / "lab.sqlite")
    conf = tmp_path / "good.conf"
    conf.write_text(GOOD.format(db=db))
    before = dump(db)
    argv = ["cinder-lab", "--config-file", str(conf), *args]
    if args[0] == "--config-file":
        argv = ["cinder-lab", *args]
    line = assert_clean_failure(run(argv, tmp_path, capfd), expect)
    assert len(line) < 500, "an error line must stay short"
    assert dump(db) == before


@pytest.mark.parametrize("kind", ["device", "fifo", "directory", "too-large"])
@pytest.mark.parametrize("cmd", [["cinder-lab", "list"], ["cinder-lab-backup"], ["cinder-lab-api"]])
def test_a_config_that_is_no_config_file(tmp_path, capfd, kind, cmd):
    """``--config-file /dev/zero`` hung oslo.config's reader; a FIFO would too."""
    db = make_db(tmp_path / "lab.sqlite")
    before = dump(db)
    path = {"device": Path("/dev/zero"), "directory": tmp_path}.get(kind, tmp_path / "odd.conf")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "too-large":
        path.write_text(GOOD.format(db=db) + "# " + "x" * (2 << 20) + "\n")
    argv = [cmd[0], "--config-file", str(path), *cmd[1:]]
    assert_clean_failure(run(argv, tmp_path, capfd), "config file")
    assert dump(db) == before
