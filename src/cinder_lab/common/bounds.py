"""The bounds oslo.config's ``min``/``max`` cannot say, checked once at start.

Each option's own bounds are on the option (``common/config.py``, ``api/opts.py``):
what its use needs, so that no value passes the check only to break a thread
later (``report_interval = 10000000000`` was an OverflowError in the heartbeat).
Here are the rest: a float must be a number (``nan`` passes every comparison),
oslo.messaging's ``rpc_response_timeout`` has no bounds of its own, one option's
bound that depends on another, and a config path that is no config file.
"""

from __future__ import annotations

import glob
import logging
import math
import os
import stat

from oslo_config import cfg

from cinder_lab import exception

LOG = logging.getLogger(__name__)

# A thread's wait takes at most threading.TIMEOUT_MAX (292 years), but a day is as long
# as any lab interval needs; OverflowError is what a learner would have seen.
MAX_INTERVAL = 86400  # seconds
MAX_DOWN_TIME = 7 * MAX_INTERVAL
DB_MAX_INT = 0x7FFFFFFF  # cinder.common.constants.DB_MAX_INT


def check_values(group: cfg.ConfigOpts | cfg.ConfigOpts.GroupAttr) -> None:
    """Read every registered option now: oslo.config only checks a value (type, min, max,
    choices, regex) when it is read, which would turn ``report_interval = often`` into a
    traceback in a running service."""
    for name in list(group):
        try:
            value = group[name]
        except cfg.ConfigFileValueError as e:
            # oslo.config's message names a LocationInfo repr; the lab names the option.
            why = str(e).splitlines()[0].rsplit("is not valid: ", 1)[-1]
            raise exception.ConfigError(reason=f"bad value for {name}: {why}") from None
        except cfg.Error as e:
            raise exception.ConfigError(reason=str(e).splitlines()[0]) from None
        except (ValueError, TypeError) as e:
            raise exception.ConfigError(reason=f"bad value for {name}: {e}") from None
        check_finite(name, value)
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            check_values(value)


def check_finite(name: str, value: object) -> None:
    """A float option must be a number: oslo.config's min/max let ``nan`` through."""
    if isinstance(value, float) and not math.isfinite(value):
        raise exception.ConfigError(reason=f"bad value for {name}: {value} is not a number")


MAX_RESPONSE_TIMEOUT = 3600  # seconds; a call waits on a thread, as a heartbeat does


def check_client_options(conf: cfg.ConfigOpts) -> None:
    """oslo.messaging's own ``rpc_response_timeout`` has no bounds: 0 or less makes every
    ``call`` time out at once (with a raw ``%(reply_q)s`` in its message). Registered here,
    as the first RPCClient would, so a bad value is one line at start."""
    # oslo.messaging 18 rpc/client.py; its public list_opts() imports eventlet (a warning).
    from oslo_messaging.rpc import client as rpc_client

    conf.register_opts(rpc_client._client_opts)
    try:
        timeout = conf.rpc_response_timeout
    except (cfg.Error, ValueError) as e:
        raise exception.ConfigError(reason=str(e).splitlines()[0]) from None
    if not 1 <= timeout <= MAX_RESPONSE_TIMEOUT:
        raise exception.ConfigError(
            reason=f"rpc_response_timeout = {timeout}: must be 1 to {MAX_RESPONSE_TIMEOUT} seconds"
        )


def check_down_time() -> None:
    """A heartbeat period that is not below ``service_down_time`` would show every service
    down between beats: raise it to 2.5 periods, with Cinder's warning (cinder/service.py)."""
    if cfg.CONF.service_down_time <= cfg.CONF.report_interval:
        new_down_time = int(cfg.CONF.report_interval * 2.5)
        LOG.warning(
            "Report interval must be less than service down time. Current config "
            "service_down_time: %s, report_interval for this service is: %s. Setting "
            "global service_down_time to: %s",
            cfg.CONF.service_down_time,
            cfg.CONF.report_interval,
            new_down_time,
        )
        cfg.CONF.set_override("service_down_time", new_down_time)


MAX_CONFIG_BYTES = 1 << 20  # a cinder.conf is a few kilobytes; /dev/zero is endless


def config_args(argv: list[str]) -> list[str]:
    """The files ``--config-file F`` and the ``*.conf`` of ``--config-dir D`` name in argv."""
    found = []
    for i, arg in enumerate(argv):
        for option in ("--config-file", "--config-dir"):
            if arg == option and i + 1 < len(argv):
                value = argv[i + 1]
            elif arg.startswith(option + "="):
                value = arg.split("=", 1)[1]
            else:
                continue
            is_dir = option == "--config-dir" and os.path.isdir(value)
            found += sorted(glob.glob(os.path.join(value, "*.conf"))) if is_dir else [value]
    return found


def check_config_files(paths: list[str]) -> None:
    """Refuse, in one line, a config that is no regular file (a FIFO or device would hang
    oslo.config's reader) or is larger than any config; a missing one is oslo.config's."""
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            raise exception.ConfigError(reason=f"config file {path} is not a regular file")
        if st.st_size > MAX_CONFIG_BYTES:
            raise exception.ConfigError(
                reason=f"config file {path} is {st.st_size} bytes; a config is at most "
                f"{MAX_CONFIG_BYTES}"
            )
