"""What every lab command shares: config, logging, and one-line errors."""

from __future__ import annotations

import argparse
import logging
import math
import sys
import types
from collections.abc import Callable

from oslo_config import cfg
from sqlalchemy.exc import SQLAlchemyError

from cinder_lab import exception, utils
from cinder_lab.common.config import CONF
from cinder_lab.utils import one_line

LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"


class MaskSecrets(logging.Filter):
    """Mask the password of any URL in a log line, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = utils.mask_url(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class OneLineErrors(logging.Filter):
    """Fold an exception into its log line: a failed RPC method logs one line, not a traceback.

    oslo.messaging logs every exception an endpoint raises with its traceback;
    the lab's services report them as ``...: ErrorType: first line``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {one_line(error)}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr with passwords masked; keep the libraries quiet."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(OneLineErrors())
    handler.addFilter(MaskSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("oslo.messaging", "oslo_messaging", "amqp", "kombu", "stevedore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def run(prog: str, body: Callable[[], int | None]) -> int:
    """Run ``body``; turn the lab's errors into ``prog: error: ...`` and exit 1."""
    try:
        return body() or 0
    except exception.CinderLabException as e:
        print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
    except SQLAlchemyError as e:
        url = utils.mask_url(CONF.database.connection)
        print(f"{prog}: error: database {url}: {one_line(e.orig or e)}", file=sys.stderr)
    except cfg.Error as e:
        # An option registered late (by oslo.messaging's driver) and read with a bad value.
        print(f"{prog}: error: Configuration error: {one_line(e)}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
    return 1


def service_main(prog: str, make_service: Callable[[], object], argv: list[str] | None) -> int:
    """Parse config, check host and broker, then serve one service until SIGTERM/SIGINT.

    What cinder-backup and cinder-scheduler's starter scripts share.
    """
    from cinder_lab import rpc, service
    from cinder_lab.cmd import launcher
    from cinder_lab.common import config

    def body() -> int:
        config.parse_args(sys.argv[1:] if argv is None else argv)
        setup_logging()
        config.check_name(CONF.host, "[DEFAULT] host")
        service.check_options()
        rpc.check_broker(CONF)
        return launcher.serve(make_service)

    return run(prog, body)


def positive_seconds(text: str) -> float:
    """argparse type: a finite number of seconds above zero (``-5``, ``nan``, ``inf`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive, finite number of seconds: {text!r}")
    return value


def _one_line_error(self: argparse.ArgumentParser, message: str) -> None:
    # argparse prints the whole usage first; the lab wants one line.
    print(f"{self.prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def one_line_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser`` report bad arguments on one line."""
    parser.error = types.MethodType(_one_line_error, parser)
    return parser


def connect() -> None:
    """Create the transport and check the broker answers, before any row is written.

    Imported late: commands that only read the database never load oslo.messaging.
    """
    from cinder_lab import rpc

    if not rpc.initialized():
        rpc.init(CONF)
        rpc.check_broker(CONF)


class LabMixin:
    """One-line errors for every ``cinder-lab`` command: bad arguments and failures alike."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        return one_line_parser(super().get_parser(prog_name))

    def run(self, parsed_args: argparse.Namespace) -> int:
        try:
            return super().run(parsed_args)
        except exception.CinderLabException as e:
            # cliff logs str(err) as is: keep it one short, printable, masked line.
            raise exception.CinderLabException(one_line(e)) from None
        except SQLAlchemyError as e:
            url = utils.mask_url(CONF.database.connection)
            raise exception.CinderLabException(f"database {url}: {one_line(e.orig or e)}") from None
        except Exception as e:
            # cliff prints str(err); keep it to one masked line.
            raise exception.CinderLabException(f"{type(e).__name__}: {one_line(e)}") from None
