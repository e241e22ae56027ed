"""Every scenario, in one process on kombu+memory:// and against the real RabbitMQ."""

from __future__ import annotations

import pytest

from cinder_lab.scenarios import SCENARIOS, base
from tests.procs import run_cli

# What a learner must see in each scenario's output, whatever the broker.
MUST_SAY = {
    "multi-backend": "maqi-openstack.novalocal@whatever_it_is#new_lvm_backend",
    "backup-host-mismatch": "Service cinder-backup could not be found.",
    "service-down": "backup-create is refused",
    "cast-to-nowhere": "MessagingTimeout",
    "shared-backend-failover": "ceph-cluster@ceph",
    "fanout": "cinder-scheduler_fanout",
    "version-mismatch": "UnsupportedVersion",
    "modern-cinder": "cinder-volume.maqi-kilo@ceph.maqi-kilo",
}


def test_every_scenario_is_listed():
    assert set(MUST_SAY) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_in_one_process(name, tmp_path):
    lines: list[str] = []
    failed = base.run(SCENARIOS[name], None, lines.append, workdir=tmp_path)
    text = "\n".join(lines)
    assert failed == [], text
    assert MUST_SAY[name] in text
    assert "[ok]" in text


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_on_rabbitmq(name, tmp_path, vhost):
    lines: list[str] = []
    failed = base.run(SCENARIOS[name], vhost.url, lines.append, workdir=tmp_path)
    text = "\n".join(lines)
    assert failed == [], text
    assert MUST_SAY[name] in text


def test_cli_runs_a_scenario_and_fails_on_unknown(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("[DEFAULT]\n")
    out = run_cli(conf, "scenario", "run", "version-mismatch")
    assert out.returncode == 0, out.stderr
    assert "every check held" in out.stdout
    out = run_cli(conf, "scenario", "run", "no-such-thing")
    assert out.returncode == 1
    assert out.stderr.strip().startswith("no scenario 'no-such-thing'")
