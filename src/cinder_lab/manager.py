"""Base class of the three managers; mirrors cinder/manager.py.

A manager is the RPC endpoint: every public method is a method a client may
cast or call by name.
"""

from __future__ import annotations

from collections import Counter

from cinder_lab import context


class Manager:
    """Holds the host this manager serves and its periodic work."""

    RPC_API_VERSION = "1.0"

    def __init__(self, host: str) -> None:
        self.host = host
        # Which RPC methods this instance ran: shows who served what in one-process scenarios.
        self.handled: Counter[str] = Counter()

    def init_host(self) -> None:
        """Runs before the RPC server starts."""

    def init_host_with_rpc(self) -> None:
        """Runs once the RPC server consumes its queues."""

    def periodic_tasks(self, ctxt: context.RequestContext) -> None:
        """Runs every ``periodic_interval`` seconds."""
