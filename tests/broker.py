"""The real RabbitMQ of this machine, one vhost per test.

Vhosts, users, exchanges and bindings go through the management HTTP API (the lab's
own client, ``observe/management.py``): any user who reaches the broker can run the
broker tests, and no call starts an Erlang VM. Queue and consumer counts come from
``rabbitmqctl``, which sees them at once (the management API's lag a few seconds);
Debian's refuses users other than root and rabbitmq, so a test that needs them
skips for anyone else (fails under CI=true).
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import uuid
from functools import cache

import pytest

from cinder_lab.observe.management import ManagementAPI, ManagementError

HOST, PORT = "127.0.0.1", 5672
MANAGEMENT_URL = f"http://{HOST}:15672/"
SETUP = "sudo make test-machine"  # what installs and starts the services make test uses


def ci() -> bool:
    """True under CI (CI=true): a missing service fails the test instead of skipping it."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, message: str) -> None:
    """Skip a test whose service is missing; under CI (CI=true) fail instead.

    ``message`` ends with the command that would provide it, in parentheses: the
    summary at the end of the run groups the skips by it."""
    if available:
        return
    if ci():
        pytest.fail(message)
    pytest.skip(message)


def api(vhost: str = "/") -> ManagementAPI:
    """The management API of the local broker as guest, scoped to ``vhost``."""
    return ManagementAPI(MANAGEMENT_URL, "guest", "guest", vhost, timeout=30)


@cache
def broker_available() -> bool:
    """True when RabbitMQ answers on 127.0.0.1:5672 and its management API on :15672."""
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            pass
        api().get("overview")
    except (OSError, ManagementError):
        return False
    return True


def require_broker() -> None:
    """The real RabbitMQ with its management API, or skip (fail under CI)."""
    require(
        broker_available(),
        f"RabbitMQ or its management API is not reachable on {HOST}:{PORT}, :15672 ({SETUP})",
    )


def vhosts() -> set[str]:
    """The names of the broker's vhosts."""
    return {v["name"] for v in api().get("vhosts")}


def add_user(name: str, password: str, vhost: str) -> None:
    """A user with every permission on ``vhost``."""
    quoted = api(vhost).quoted_vhost
    api().put(f"users/{name}", {"password": password, "tags": ""})
    api().put(f"permissions/{quoted}/{name}", {"configure": ".*", "write": ".*", "read": ".*"})


def delete_user(name: str) -> None:
    api().delete(f"users/{name}")


@cache
def _ctl_refusal() -> str | None:
    """Why rabbitmqctl cannot be used by this user, or None if it can."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed"
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_vhosts", "name"], capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0:  # Debian's wrapper prints its usage text for other users
        return f"it refuses user {getpass.getuser()}"
    return None


def ctl(*args: str) -> str:
    """Run rabbitmqctl quietly and return its output (skip if this user may not run it)."""
    why = _ctl_refusal()
    require(why is None, f"rabbitmqctl: {why} (sudo make test)")
    out = subprocess.run(
        ["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60
    )
    return out.stdout


def ctl_json(*args: str) -> list[dict]:
    """rabbitmqctl list_* with JSON output."""
    text = ctl(*args, "--formatter", "json").strip()
    return json.loads(text) if text else []


class Vhost:
    """A throwaway vhost: every exchange and queue a test makes dies with it."""

    def __init__(self) -> None:
        self.name = f"cinder-lab-test-{uuid.uuid4().hex[:8]}"
        self.url = f"rabbit://guest:guest@{HOST}:{PORT}/{self.name}"
        self.api = api(self.name)

    def create(self) -> Vhost:
        self.api.put(f"vhosts/{self.api.quoted_vhost}", {})
        self.api.put(
            f"permissions/{self.api.quoted_vhost}/guest",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
        return self

    def delete(self) -> None:
        self.api.delete(f"vhosts/{self.api.quoted_vhost}")

    def queues(self) -> dict[str, dict]:
        """Queue name -> {'messages': n, 'consumers': n}, as of now (rabbitmqctl)."""
        rows = ctl_json("list_queues", "-p", self.name, "name", "messages", "consumers")
        return {r["name"]: r for r in rows}

    def exchanges(self) -> dict[str, str]:
        """Exchange name -> type, without the default and amq.* ones."""
        return {
            e["name"]: e["type"]
            for e in self.api.exchanges()
            if e["name"] and not e["name"].startswith("amq.")
        }

    def bindings(self) -> set[tuple[str, str, str]]:
        """``(source exchange, routing key, destination queue)``, without default-exchange ones."""
        return {
            (b["source"], b["routing_key"], b["destination"])
            for b in self.api.bindings()
            if b["source"]
        }

    def consumers(self) -> list[dict]:
        """One dict per consumer: queue_name, channel_pid, ... as of now (rabbitmqctl)."""
        return ctl_json("list_consumers", "-p", self.name)
