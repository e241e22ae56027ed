"""What the scheduler keeps of the capability reports, and what it shows.

As Cinder master's HostManager: only backends whose cinder-volume row is up
and enabled are listed or chosen; a report stays while its row exists and is
dropped once the row is gone. The lab also bounds each report and how many it
keeps, refusing the rest in one log line (a forged report with 200,000 pools
once made every get_pools slow).
"""

from __future__ import annotations

import datetime
import logging

import pytest

from cinder_lab import context, exception
from cinder_lab.db import api as db
from cinder_lab.scheduler import host_manager
from cinder_lab.scheduler import rpcapi as scheduler_rpcapi
from tests.unit.test_state_hardening import _handled, _served


def report(pools: int = 1, prefix: str = "p") -> dict:
    pool = {"total_capacity_gb": 10, "free_capacity_gb": 10}
    return {"pools": [{"pool_name": f"{prefix}{i}", **pool} for i in range(pools)]}


def scheduler(lab) -> host_manager.HostManager:
    return lab.find("cinder-scheduler", "maqi-kilo").manager.host_manager


def test_an_oversized_report_is_refused_in_one_line(lab, caplog):
    before = _handled(lab, "cinder-scheduler", "update_service_capabilities")
    too_many = host_manager.MAX_POOLS_PER_REPORT + 1
    with caplog.at_level(logging.WARNING):
        scheduler_rpcapi.SchedulerAPI().update_service_capabilities(
            context.get_admin_context(), "volume", "maqi-kilo@ceph", report(too_many)
        )
        _served(lab, "cinder-scheduler", "update_service_capabilities", before + 1)
    # One record (the services' OneLineErrors filter prints it as one line).
    said = [r for r in caplog.records if f"{too_many} pools" in str(r.exc_info and r.exc_info[1])]
    assert len(said) == 1, caplog.text
    assert [p["name"] for p in lab.wait_for_pools(1)] == ["maqi-kilo@ceph#ceph"]


def test_a_pool_name_the_host_column_cannot_hold_is_refused(lab):
    hm = scheduler(lab)
    with pytest.raises(exception.InvalidMessage, match="longer than the host column"):
        hm.update_service_capabilities("maqi-kilo@ceph", report(1, "p" * 250))
    assert [p["name"] for p in hm.get_pools()] == ["maqi-kilo@ceph#ceph"]


def test_a_report_without_a_services_row_is_never_shown_and_then_dropped(lab):
    hm = scheduler(lab)
    hm.update_service_capabilities("forged@lvm", report(3))
    assert "forged@lvm" in hm.service_states
    assert [p["name"] for p in hm.get_pools()] == ["maqi-kilo@ceph#ceph"]
    assert "forged@lvm" not in hm.service_states


def test_a_down_backend_is_not_listed_but_its_report_stays(lab):
    hm = scheduler(lab)
    row = db.service_get_by_args("maqi-kilo@ceph", "cinder-volume")
    lab.stop(lab.find("cinder-volume", "maqi-kilo@ceph"))
    long_ago = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(days=1)
    db.service_update(row.id, {"updated_at": long_ago})
    assert hm.get_pools() == []
    assert "maqi-kilo@ceph" in hm.service_states  # as Cinder's service_states: kept
    db.service_update(row.id, {"updated_at": None})
    db.service_heartbeat(row.id)
    assert [p["name"] for p in hm.get_pools()] == ["maqi-kilo@ceph#ceph"]


def test_reports_beyond_the_bound_are_refused_after_the_rowless_ones_go(lab, monkeypatch):
    monkeypatch.setattr(host_manager, "MAX_REPORTS", 4)
    hm = scheduler(lab)
    for i in range(3):
        hm.update_service_capabilities(f"forged{i}@lvm", report())
    # Full: the reports of backends with no services row make room for the next.
    hm.update_service_capabilities("forged3@lvm", report())
    assert set(hm.service_states) == {"maqi-kilo@ceph", "forged3@lvm"}
    for i in range(4, 6):
        hm.update_service_capabilities(f"forged{i}@lvm", report())
    # A row for each: nothing can be dropped, so a fifth backend is refused.
    for host in ("forged3@lvm", "forged4@lvm", "forged5@lvm"):
        db.service_create({"host": host, "binary": "cinder-volume", "topic": "cinder-volume"})
    with pytest.raises(exception.InvalidMessage, match="already holds 4 reports"):
        hm.update_service_capabilities("forged6@lvm", report())
    # A known backend may always report again.
    hm.update_service_capabilities("maqi-kilo@ceph", report(2, "ceph"))


def test_backup_reports_are_bounded_too(lab, monkeypatch):
    monkeypatch.setattr(host_manager, "MAX_REPORTS", 2)
    hm = scheduler(lab)
    caps = {"backend_state": True, "availability_zone": "nova"}
    hm.backup_service_states.clear()
    for host in ("one", "two"):
        hm.update_backup_capabilities(host, caps)
    with pytest.raises(exception.InvalidMessage, match="already holds 2 reports"):
        hm.update_backup_capabilities("three", caps)
    hm.update_backup_capabilities("one", {**caps, "backend_state": False})
    assert set(hm.backup_service_states) == {"one", "two"}
