"""Every scenario, in one process on kombu+memory:// and against the real RabbitMQ."""

from __future__ import annotations

import contextlib
import json
import urllib.parse

import pytest

from cinder_lab.scenarios import SCENARIOS, base
from cinder_lab.scenarios import vhost as scenario_vhost
from tests.broker import vhosts
from tests.procs import run_cli

# What a learner must see in each scenario's output, whatever the broker.
MUST_SAY = {
    "multi-backend": "maqi-openstack.novalocal@whatever_it_is#new_lvm_backend",
    "backup-host-mismatch": "Service cinder-backup could not be found.",
    "service-down": "backup-create is refused",
    "cast-to-nowhere": "MessagingTimeout",
    "shared-backend-failover": "ceph-cluster@ceph",
    "fanout": "cinder-scheduler_fanout",
    "version-mismatch": "ServiceTooOld",
    "modern-cinder": "cinder-volume.maqi-kilo@ceph.maqi-kilo",
    "backup-through-the-releases": "Service not found for creating backup.",
    "backup-restart": "incomplete backup reset on manager restart",
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
def test_scenario_on_rabbitmq(name, tmp_path, vhost, monkeypatch):
    own: list[str] = []
    real_own_vhost = scenario_vhost.own_vhost

    @contextlib.contextmanager
    def noting_own_vhost(url, scenario):
        # Note the run's own vhost by name: others may run the same scenario on the broker.
        with real_own_vhost(url, scenario) as run_url:
            own.append(urllib.parse.unquote(run_url.rsplit("/", 1)[1]))
            yield run_url

    monkeypatch.setattr(scenario_vhost, "own_vhost", noting_own_vhost)
    lines: list[str] = []
    failed = base.run(SCENARIOS[name], vhost.url, lines.append, workdir=tmp_path)
    text = "\n".join(lines)
    assert failed == [], text
    assert MUST_SAY[name] in text
    # It ran in a vhost of its own, now gone: nothing was declared in the given one.
    assert vhost.queues() == {}
    assert len(own) == 1 and own[0].startswith(f"cinder-lab-scenario-{name}-"), own
    assert own[0] not in vhosts()


def test_cli_runs_a_scenario_and_fails_on_unknown(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("[DEFAULT]\n")
    out = run_cli(conf, "scenario", "run", "version-mismatch")
    assert out.returncode == 0, out.stderr
    assert "every check held" in out.stdout
    out = run_cli(conf, "scenario", "run", "no-such-thing")
    assert out.returncode == 1
    assert out.stderr.strip().startswith("no scenario 'no-such-thing'")


def test_cli_runs_a_scenario_as_json(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("[DEFAULT]\n")
    out = run_cli(conf, "scenario", "run", "version-mismatch", "-f", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["scenario"], doc["ok"]) == ("version-mismatch", True)
    checks = [c for step in doc["steps"] for c in step["checks"]]
    assert checks and all(c["ok"] for c in checks)
    assert any("ServiceTooOld" in c["what"] for c in checks)
    assert any("3.16" in line for step in doc["steps"] for line in step["lines"])
    out = run_cli(conf, "scenario", "run", "version-mismatch", "-f", "yaml")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
