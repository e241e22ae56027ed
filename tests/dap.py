"""A minimal Debug Adapter Protocol client: what VS Code sends when it attaches to debugpy."""

from __future__ import annotations

import json
import socket
import time


class DapSession:
    """One connection to a debugpy adapter; requests in order, events collected."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rb")
        self.seq = 0
        self.events: list[dict] = []

    def send(self, command: str, arguments: dict | None = None) -> int:
        self.seq += 1
        body = json.dumps(
            {"seq": self.seq, "type": "request", "command": command, "arguments": arguments or {}}
        ).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def _read(self) -> dict:
        length = None
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("debug adapter closed the connection")
            line = line.strip()
            if not line:
                break
            key, _, value = line.decode().partition(":")
            if key.strip().lower() == "content-length":
                length = int(value)
        assert length is not None, "DAP message without Content-Length"
        return json.loads(self.file.read(length))

    def wait(self, predicate, timeout: float = 30) -> dict:
        """Read messages until one matches ``predicate``; events are kept in ``events``."""
        deadline = time.monotonic() + timeout
        for message in self.events:
            if predicate(message):
                self.events.remove(message)
                return message
        while time.monotonic() < deadline:
            message = self._read()
            if message.get("type") == "event" and not predicate(message):
                self.events.append(message)
                continue
            if predicate(message):
                return message
        raise TimeoutError("no matching DAP message")

    def event(self, name: str, timeout: float = 30) -> dict:
        return self.wait(lambda m: m.get("type") == "event" and m.get("event") == name, timeout)

    def request(self, command: str, arguments: dict | None = None, timeout: float = 30) -> dict:
        """Send a request and return its response body (fail on an error response)."""
        seq = self.send(command, arguments)
        response = self.wait(
            lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout
        )
        assert response["success"], response
        return response.get("body") or {}

    def attach(self, arguments: dict, breakpoints: dict[str, list[int]] | None = None) -> None:
        """initialize, attach, breakpoints, configurationDone: the IDE's attach sequence."""
        self.request("initialize", {"adapterID": "debugpy", "clientID": "cinder-lab-tests"})
        attach_seq = self.send("attach", arguments)
        self.event("initialized")
        for path, lines in (breakpoints or {}).items():
            self.request(
                "setBreakpoints",
                {"source": {"path": path}, "breakpoints": [{"line": n} for n in lines]},
            )
        self.request("configurationDone")
        self.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == attach_seq)

    def close(self) -> None:
        """Disconnect, leaving the debuggee running, and wait (briefly) for the answer."""
        try:
            seq = self.send("disconnect", {"terminateDebuggee": False})
            self.wait(lambda m: m.get("request_seq") == seq, timeout=5)
        except (OSError, ConnectionError, TimeoutError):
            pass
        self.sock.close()
