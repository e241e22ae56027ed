"""Fixtures for tests that run the console scripts against the real RabbitMQ."""

from __future__ import annotations

import configparser
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cinder_lab.common import config
from cinder_lab.db import api as db
from tests.broker import Vhost
from tests.procs import LabProcess, stop_all


def options(text: str) -> dict[str, dict[str, str]]:
    """The options of a config snippet by section; lines before any header are DEFAULT's."""
    parser = configparser.RawConfigParser(default_section="\0", strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the case
    parser.read_string("[DEFAULT]\n" + textwrap.dedent(text))
    return {section: dict(parser[section]) for section in parser.sections()}


class RabbitLab:
    """Config files, processes and the shared SQLite file of one test."""

    def __init__(self, tmp_path: Path, vhost: Vhost, db_url: str) -> None:
        self.tmp = tmp_path
        self.vhost = vhost
        self.db_url = db_url
        self.procs: list[LabProcess] = []

    def conf(
        self,
        name: str,
        host: str,
        backends: dict[str, str] | None = None,
        extra_backend: str = "",
        extra_default: str = "",
    ) -> Path:
        """Write a config (``config.write_config``): ``backends`` maps section ->
        volume_backend_name; ``extra_default`` may open sections of its own."""
        backends = backends or {}
        default: dict[str, object] = {
            "host": host,
            "transport_url": self.vhost.url,
            "enabled_backends": ",".join(backends),
            "report_interval": 1,
            "service_down_time": 4,
            "periodic_interval": 5,
            "rpc_response_timeout": 10,
        }
        sections: dict[str, dict[str, object]] = {"database": {"connection": self.db_url}}
        for section, opts in options(extra_default).items():
            (default if section == "DEFAULT" else sections.setdefault(section, {})).update(opts)
        for section, pool in backends.items():
            sections[section] = {"volume_backend_name": pool, **options(extra_backend)["DEFAULT"]}
        path = self.tmp / f"{name}.conf"
        config.write_config(path, default, sections)
        # The test process reads the same database to poll rows.
        config.parse_args(["--config-file", str(path)])
        return path

    def start(self, script: str, conf: Path) -> LabProcess:
        proc = LabProcess(script, conf, self.tmp)
        self.procs.append(proc)
        return proc

    def stop(self, proc: LabProcess) -> int:
        self.procs.remove(proc)
        return proc.stop()

    def stop_all(self) -> dict[str, int]:
        codes = stop_all(self.procs)
        self.procs.clear()
        return codes


@pytest.fixture
def rabbit_lab(tmp_path: Path, vhost: Vhost, lab_database_url: str) -> Iterator[RabbitLab]:
    lab = RabbitLab(tmp_path, vhost, lab_database_url)
    try:
        yield lab
    finally:
        leftover = list(lab.procs)
        codes = lab.stop_all()
        db.dispose_engine()
        for proc in leftover:
            assert "Traceback" not in proc.output(), proc.output()
        assert all(code == 0 for code in codes.values()), codes


ServiceRows = Callable[[], dict[tuple[str, str], bool]]
