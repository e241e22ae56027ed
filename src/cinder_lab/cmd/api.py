"""Starter script for cinder-api; mirrors cinder/cmd/api.py.

``cinder-lab-api --config-file F`` serves the v3 API on ``[api] listen``:``port``
(127.0.0.1:8776) with uvicorn until SIGTERM, SIGINT or SIGHUP. Like cinder-api
it registers no services row; it is an RPC client only, so its transport is
made once the server starts.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

import uvicorn

from cinder_lab import rpc, utils
from cinder_lab.api import opts  # noqa: F401 - [api] registered before the files are parsed
from cinder_lab.cmd import common
from cinder_lab.common import config
from cinder_lab.common.config import CONF
from cinder_lab.db import engine


class Server(uvicorn.Server):
    """uvicorn, stopping cleanly (exit 0) on each of the lab's stop signals, SIGHUP too."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        def stop(_signum: int, _frame: object) -> None:
            self.should_exit = True

        previous = {s: signal.signal(s, stop) for s in utils.STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    """``cinder-lab-api --config-file F``."""

    def body() -> int:
        from cinder_lab.api import router

        config.parse_args(sys.argv[1:] if argv is None else argv)
        common.setup_logging()
        rpc.check_broker(CONF)  # an unreachable broker is one line, before listening
        engine.get_engine()  # so is a database URL that cannot be used
        server = Server(
            uvicorn.Config(
                router.create_app(),
                host=CONF.api.listen,
                port=CONF.api.port,
                log_config=None,  # the lab's own logging (masked, one line per error)
                access_log=True,
            )
        )
        server.run()
        # uvicorn reports a port it could not bind by leaving started False.
        return 0 if server.started else 1

    return common.run("cinder-lab-api", body)


if __name__ == "__main__":
    sys.exit(main())
