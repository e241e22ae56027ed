"""Throwaway RabbitMQ nodes for the tests that stop a broker: one, or a cluster of three.

Never the shared node on 5672: each has its own name, ports, data and log
directories under /tmp, runs as the ``rabbitmq`` user with the shared Erlang
cookie (so ``rabbitmqctl -n`` reaches it, and the nodes reach each other),
loads no plugin (or only the management plugin, on port + 2), and is always
stopped and deleted by the fixture that started it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

from cinder_lab import utils

NODE = "cinderlabfault@localhost"
RABBIT_HOME = "/var/lib/rabbitmq"


def _free_port_pair(start: int = 21000) -> int:
    """A port p with p, p+1 and p+2 free, below the ephemeral range (whose ports clients take)."""
    for port in range(start, 32000, 10):
        try:
            for p in (port, port + 1, port + 2):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for a throwaway RabbitMQ node")


def can_run() -> str | None:
    """None when a second node can start here, else why not."""
    if os.geteuid() != 0:
        return "starting a second RabbitMQ node needs root (it runs as user rabbitmq)"
    if shutil.which("rabbitmq-server") is None or not os.path.isdir(RABBIT_HOME):
        return "rabbitmq-server is not installed"
    try:
        pwd.getpwnam("rabbitmq")
    except KeyError:
        return "no rabbitmq user"
    return None


class RabbitNode:
    """Start, restart and stop one extra RabbitMQ node on free local ports."""

    def __init__(self, node: str = NODE, first_port: int = 21000, management: bool = False):
        self.node = node
        self.port = _free_port_pair(first_port)
        self.management_port = self.port + 2 if management else None
        self.dir = tempfile.mkdtemp(prefix="cinder-lab-rabbit-")
        os.chmod(self.dir, 0o755)
        for sub in ("mnesia", "log"):
            os.mkdir(os.path.join(self.dir, sub))
        conf = "loopback_users = none\n"
        if management:
            conf += f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.port + 2}\n"
        self._write("enabled_plugins", "[rabbitmq_management].\n" if management else "[].\n")
        self._write("rabbitmq.conf", conf)
        self._write(
            "rabbitmq-env.conf",
            "ERL_EPMD_ADDRESS=127.0.0.1\n"
            'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n',
        )
        subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", self.dir], check=True)

    def _write(self, name: str, text: str) -> None:
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def url(self, vhost: str, user: str = "guest", password: str = "guest") -> str:
        return f"rabbit://{user}:{password}@127.0.0.1:{self.port}/{vhost}"

    def ctl(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and out.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {out.stderr.strip()[:300]}")
        return out.stdout

    def queues(self, vhost: str) -> dict[str, int]:
        """Queue name -> messages, on this node."""
        text = self.ctl("list_queues", "-p", vhost, "name", "messages", "--formatter", "json")
        return {q["name"]: q["messages"] for q in json.loads(text.strip() or "[]")}

    def start(self, timeout: float = 120) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": RABBIT_HOME,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.port + 1),
            "RABBITMQ_CONF_ENV_FILE": os.path.join(self.dir, "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.dir, "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(self.dir, "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": os.path.join(self.dir, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.dir, "log"),
        }
        subprocess.run(
            [
                "runuser",
                "-u",
                "rabbitmq",
                "--",
                "env",
                *[f"{k}={v}" for k, v in env.items()],
                "/usr/lib/rabbitmq/bin/rabbitmq-server",
                "-detached",
            ],
            check=True,
            cwd=RABBIT_HOME,
            timeout=60,
        )
        started = utils.wait_until(
            lambda: self._listening() and self._ok("await_startup", "--timeout", "30"),
            timeout,
            interval=0.5,
        )
        if started:
            return
        log = self._log_tail()
        raise RuntimeError(f"throwaway RabbitMQ {self.node} did not start: {log}")

    def _log_tail(self) -> str:
        # The directory is removed after the test: keep the node's last words in the error.
        logs = os.path.join(self.dir, "log")
        lines: list[str] = []
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            with open(os.path.join(logs, name), errors="replace") as f:
                lines += [f"{name}: {line.rstrip()}" for line in f.readlines()[-5:]]
        return " | ".join(lines[-10:]) or "no log"

    def _ok(self, *args: str) -> bool:
        out = subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *args], capture_output=True, timeout=120
        )
        return out.returncode == 0

    def stop(self) -> None:
        """Stop the node (no error if it is not running)."""
        subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, "stop"], capture_output=True, timeout=120
        )
        utils.wait_until(lambda: not self._listening(), 60, interval=0.2)

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def restart(self) -> None:
        self.stop()
        self.start()

    def join(self, other: RabbitNode) -> None:
        """Join ``other``'s cluster (this node's data is reset), as an operator does."""
        self.ctl("stop_app")
        self.ctl("reset")
        self.ctl("join_cluster", other.node)
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def stop_leftover(node: str = NODE) -> None:
    """Stop a node of this name that an interrupted run left behind."""
    subprocess.run(["rabbitmqctl", "-q", "-n", node, "stop"], capture_output=True, timeout=120)


class RabbitCluster:
    """Three throwaway nodes joined into one cluster (``rabbitmqctl join_cluster``)."""

    NAMES = ("cinderlabc1@localhost", "cinderlabc2@localhost", "cinderlabc3@localhost")

    def __init__(self, names: tuple[str, ...] = NAMES, management: bool = False) -> None:
        self.names = names
        for name in names:
            stop_leftover(name)
        self.nodes: list[RabbitNode] = []
        port = 21000
        for name in names:
            node = RabbitNode(name, port, management)
            self.nodes.append(node)
            port = node.port + 10

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        for node in self.nodes[1:]:
            node.join(self.nodes[0])

    def running(self) -> list[str]:
        """Node names the cluster reports running (asked of any live node)."""
        for node in self.nodes:
            if node._listening():
                status = json.loads(node.ctl("cluster_status", "--formatter", "json"))
                return sorted(status["running_nodes"])
        return []

    def node(self, name: str) -> RabbitNode:
        (found,) = [n for n in self.nodes if n.node == name]
        return found

    def url(self, vhost: str) -> str:
        """One transport_url with all three hosts: oslo.messaging fails over between them."""
        hosts = ",".join(f"guest:guest@127.0.0.1:{n.port}" for n in self.nodes)
        return f"rabbit://{hosts}/{vhost}"

    def destroy(self) -> None:
        for node in reversed(self.nodes):
            node.destroy()
