"""``cinder-lab web``: the live view of the routing in a browser.

Lab-only (Cinder's dashboard, Horizon, shows nothing of RPC). Against a broker
it reads the management API and the firehose as ``topology`` and ``trace`` do;
on ``kombu+memory://`` it starts the config's services in this process first,
as they do, story mode runs the scenarios here one step at a time, and the
page's command box types the client's commands into this process.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import signal
import socket
import sys
from collections.abc import Iterator

from cliff import command

from cinder_lab import exception, memory_tap, rpc, utils
from cinder_lab.cmd.common import LabMixin
from cinder_lab.common.config import CONF
from cinder_lab.observe.management import ManagementAPI

LOG = logging.getLogger(__name__)


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket, or a one-line error (bad address, port in use)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        raise exception.InvalidInput(reason=f"--host {host!r} is not an IP address") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise exception.InvalidInput(
            reason=f"cannot listen on {host}:{port}: {e.strerror}"
        ) from None
    sock.set_inheritable(True)
    return sock


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: a number from 1 to 65535")
    return int(text)


class Web(LabMixin, command.Command):
    """Serve the live view: the routing graph, every message on its path, the services."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--port", type=_port, default=8080, help="TCP port (default 8080)")
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
        )
        parser.add_argument(
            "--no-stories",
            action="store_true",
            help="turn story mode and the command box off (the page only watches)",
        )
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        from cinder_lab.web.hub import Hub
        from cinder_lab.web.live import Watcher
        from cinder_lab.web.story import StoryRunner

        sock = listen(args.host, args.port)  # before anything starts: a busy port changes nothing
        try:
            own, api = _source()
        except BaseException:
            sock.close()
            raise
        hub = Hub()
        watcher = Watcher(hub, api).start()
        stories = box = None
        if not args.no_stories:
            if own is None:  # on a broker the services are processes of their own
                stories = StoryRunner(hub, CONF.transport_url, lambda: None)
            else:
                from cinder_lab.web.commands import CommandBox

                stories = StoryRunner(hub, None, own.stop, own.restore)
                box = CommandBox(own, stories.running)
        shown = f"[{args.host}]" if ":" in args.host else args.host
        mode = "the in-process broker" if api is None else f"vhost {api.vhost!r}"
        print(
            f"cinder-lab web: watching {mode}; open http://{shown}:{sock.getsockname()[1]}/",
            file=sys.stderr,
            flush=True,
        )
        with _signals_held():
            try:
                _serve(sock, hub, watcher, stories, box)
            finally:
                if stories is not None:
                    stories.close()
                watcher.close()  # the firehose goes back off here
                if own is not None:
                    own.stop()
                sock.close()
        return 0


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM do nothing of their own from here to the process's exit.

    uvicorn raises the signal again once it has stopped, and a second Ctrl-C or
    SIGTERM may come while the firehose is being switched off or the interpreter
    is shutting down: either would kill the process before its cleanup.
    """
    for sig in utils.STOP_SIGNALS:
        signal.signal(sig, lambda _s, _f: None)
    try:
        yield
    finally:
        utils.ignore_stop_signals()  # as the services do once they are stopping


def _source() -> tuple[object, ManagementAPI | None]:
    """In-process: this config's services, started here. Else the broker's management API."""
    from cinder_lab.web.commands import OwnLab, config_files

    if not rpc.is_in_process(CONF):
        api = ManagementAPI.from_conf(CONF)
        api.vhost_info()  # unreachable or refused: one line, before the server starts
        return None, api
    logging.getLogger("oslo.messaging").setLevel(logging.ERROR)
    memory_tap.install()
    own = OwnLab(config_files())
    try:
        own.start()
    except BaseException:
        own.stop()
        raise
    return own, None


def _serve(sock: socket.socket, hub: object, watcher: object, stories: object, box: object) -> None:
    """Serve until SIGINT or SIGTERM, then return (so the caller cleans up and exits 0)."""
    import uvicorn

    from cinder_lab.web.app import make_app

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            hub.close()  # open event streams end now
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        make_app(hub, watcher, stories, box),
        log_level="warning",
        timeout_graceful_shutdown=5,
        lifespan="off",
    )
    Server(config).run(sockets=[sock])


COMMANDS = {"web": Web}
