"""The real RabbitMQ of this machine, seen through rabbitmqctl, one vhost per test."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import uuid

import pytest

HOST, PORT = "127.0.0.1", 5672


def broker_available() -> bool:
    """True when RabbitMQ answers on 127.0.0.1:5672 and rabbitmqctl is installed."""
    if shutil.which("rabbitmqctl") is None:
        return False
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            return True
    except OSError:
        return False


def require(available: bool, message: str) -> None:
    """Skip a test whose service is missing; under CI (CI=true) fail instead."""
    if available:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def require_broker() -> None:
    """The real RabbitMQ, or skip (fail under CI)."""
    require(
        broker_available(), f"RabbitMQ is not reachable on {HOST}:{PORT} (tools/test-machine.sh)"
    )


def ctl(*args: str) -> str:
    """Run rabbitmqctl quietly and return its output."""
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

    def create(self) -> Vhost:
        ctl("add_vhost", self.name)
        ctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return self

    def delete(self) -> None:
        ctl("delete_vhost", self.name)

    def queues(self) -> dict[str, dict]:
        """Queue name -> {'messages': n, 'consumers': n}."""
        rows = ctl_json("list_queues", "-p", self.name, "name", "messages", "consumers")
        return {r["name"]: r for r in rows}

    def exchanges(self) -> dict[str, str]:
        """Exchange name -> type, without the default and amq.* ones."""
        rows = ctl_json("list_exchanges", "-p", self.name, "name", "type")
        return {
            r["name"]: r["type"] for r in rows if r["name"] and not r["name"].startswith("amq.")
        }

    def bindings(self) -> set[tuple[str, str, str]]:
        """``(source exchange, routing key, destination queue)``, without default-exchange ones."""
        rows = ctl_json(
            "list_bindings", "-p", self.name, "source_name", "routing_key", "destination_name"
        )
        return {
            (r["source_name"], r["routing_key"], r["destination_name"])
            for r in rows
            if r["source_name"]
        }

    def consumers(self) -> list[dict]:
        """One dict per consumer: queue_name, channel_pid, ..."""
        return ctl_json("list_consumers", "-p", self.name)
