"""Options the lab reads; mirrors cinder/common/config.py and the volume manager's opts.

Everything lives on oslo.config's global ``cfg.CONF``: oslo.messaging 18 looks up
its own tracing options there, and a private ConfigOpts breaks ``cast()``.
"""

from __future__ import annotations

import os
import socket

from oslo_config import cfg

from cinder_lab import exception
from cinder_lab.common import bounds
from cinder_lab.common.names import (
    HOST_COLUMN_LENGTH,
    check_backend_name,
    check_host,
    check_pool_name,
    check_topic,
)

CONF = cfg.CONF
MAX_INTERVAL, MAX_DOWN_TIME, DB_MAX_INT = (
    bounds.MAX_INTERVAL,
    bounds.MAX_DOWN_TIME,
    bounds.DB_MAX_INT,
)

global_opts = [
    cfg.StrOpt(
        "host",
        sample_default="localhost",
        default=socket.gethostname(),
        help="Name of this node; the server part of every RPC target. "
        "Defaults to the machine's hostname.",
    ),
    cfg.StrOpt(
        "storage_availability_zone",
        default="nova",
        regex=r"^\S(.{0,253}\S)?$",
        help="Availability zone of this node (not empty; the column holds 255 characters).",
    ),
    cfg.ListOpt(
        "enabled_backends",
        default=[],
        help="Backend sections cinder-volume runs, one child process each.",
    ),
    cfg.IntOpt(
        "report_interval",
        default=10,
        min=1,
        max=MAX_INTERVAL,
        help="Seconds between heartbeats written to the services table (at most a day).",
    ),
    cfg.IntOpt(
        "service_down_time",
        default=60,
        min=1,
        max=MAX_DOWN_TIME,
        help="A service is down when its last heartbeat is older than this (at most a week; "
        "raised to 2.5 x report_interval when not above it, as Cinder does).",
    ),
    cfg.IntOpt(
        "periodic_interval",
        default=60,
        min=1,
        max=MAX_INTERVAL,
        help="Seconds between periodic tasks (volume capability reports; at most a day).",
    ),
    cfg.StrOpt("volume_topic", default="cinder-volume", help="Volume RPC topic."),
    cfg.StrOpt("backup_topic", default="cinder-backup", help="Backup RPC topic."),
    cfg.StrOpt("scheduler_topic", default="cinder-scheduler", help="Scheduler RPC topic."),
    cfg.StrOpt(
        "default_volume_type",
        help="Volume type used when create is given none (a volume_backend_name).",
    ),
    cfg.StrOpt(
        "lab_release",
        default="kilo",
        choices=[
            ("kilo", "Cinder 2015.1 (Kilo), the note's era: RPC 1.x, ids on the wire"),
            (
                "current",
                "today's Cinder (29.0.0): RPC 3.x, versioned objects, the scheduler "
                "chooses the backup host, volumes addressed as cinder-volume.host@backend",
            ),
        ],
        help="Which Cinder release the lab's services and clients speak.",
    ),
    cfg.BoolOpt(
        "backup_use_same_host",
        default=False,
        help="current only, as in Cinder since Mitaka: back up a volume only on the "
        "cinder-backup of the volume's own host (else any up backup service may).",
    ),
    cfg.IntOpt(
        "rpc_connect_retries",
        default=3,
        min=0,
        max=100,
        help="How often a lab process retries an unreachable broker before it "
        "gives up with an error (the lab bounds what oslo.messaging would retry "
        "forever).",
    ),
    cfg.DictOpt(
        "fake_work_seconds",
        default={},
        help="Lab only: RPC methods of this process that pretend to work for N "
        "seconds before they finish, e.g. 'create_backup:5,create_volume:5', so a "
        "learner (or a test) can kill the service in the middle of a request.",
    ),
]

database_opts = [
    cfg.StrOpt(
        "connection",
        default="sqlite:///cinder-lab.sqlite",
        secret=True,
        help="SQLAlchemy URL of the lab's database.",
    ),
]

# Read from each section named in enabled_backends, as Cinder's volume manager does.
backend_opts = [
    cfg.StrOpt(
        "volume_backend_name",
        help="Pool name this backend reports to the scheduler; defaults to the section name.",
    ),
    cfg.StrOpt(
        "backend_host",
        help="Backend override of host value.",
    ),
    cfg.StrOpt(
        "host",
        help="Kilo's deprecated spelling of backend_host (the note's line); Cinder "
        "removed it in Pike, so with lab_release = current it is ignored.",
    ),
    cfg.StrOpt(
        "volume_driver",
        default="cinder_lab.volume.drivers.fake",
        help="Informational only: the lab's backends store nothing.",
    ),
    cfg.IntOpt(
        "total_capacity_gb",
        default=1000,
        min=1,
        max=DB_MAX_INT,
        help="Capacity this backend reports to the scheduler.",
    ),
]

# Rolling upgrades: the newest RPC version a client may send; mirrors Cinder's [upgrade_levels].
upgrade_opts = [
    cfg.StrOpt("volume", help="Cap for messages to cinder-volume, e.g. 3.0."),
    cfg.StrOpt("backup", help="Cap for messages to cinder-backup, e.g. 2.0."),
    cfg.StrOpt("scheduler", help="Cap for messages to cinder-scheduler, e.g. 3.0."),
]

# The broker's management HTTP API, read by `cinder-lab topology`, `trace` and `route`.
management_opts = [
    cfg.StrOpt(
        "url",
        help="Base URL of RabbitMQ's management API, e.g. http://127.0.0.1:15672/. "
        "Unset, it is http://<first transport_url host>:15672/.",
    ),
    cfg.ListOpt(
        "node_urls",
        default=[],
        help="Management APIs of a cluster's other nodes, for `trace`: RabbitMQ turns the "
        "firehose on node by node. Unset, http://<each other transport_url host>:15672/.",
    ),
    cfg.StrOpt("username", help="Management API user; unset, the transport_url user."),
    cfg.StrOpt(
        "password",
        secret=True,
        help="Management API password; unset, the transport_url password.",
    ),
    cfg.FloatOpt(
        "timeout",
        default=5.0,
        min=0.1,
        max=MAX_INTERVAL,
        help="Seconds to wait for one management API answer.",
    ),
]

CONF.register_opts(global_opts)
CONF.register_opts(database_opts, group="database")
CONF.register_opts(upgrade_opts, group="upgrade_levels")
CONF.register_opts(management_opts, group="management")


def release() -> str:
    """``[DEFAULT] lab_release``: ``kilo`` or ``current``."""
    return CONF.lab_release


def is_kilo() -> bool:
    """True when the lab speaks Cinder 2015.1 (Kilo)."""
    return CONF.lab_release == "kilo"


LOCAL_CONFIG = os.path.join("etc", "cinder-lab", "cinder-lab.conf")


def default_config_files() -> list[str]:
    """oslo.config's usual places, else ``etc/cinder-lab/cinder-lab.conf`` of a checkout."""
    found = cfg.find_config_files(project="cinder-lab")
    if not found and os.path.exists(LOCAL_CONFIG):
        found = [LOCAL_CONFIG]
    return found


def parse_args(argv: list[str], default_config_files: list[str] | None = None) -> None:
    """Parse the command line and config files into the global CONF.

    Turns oslo.config's file errors into the lab's one-line ConfigError.
    """
    if default_config_files is None and "--config-file" not in argv:
        default_config_files = globals()["default_config_files"]()
    bounds.check_config_files([*bounds.config_args(argv), *(default_config_files or [])])
    try:
        CONF(
            argv,
            project="cinder-lab",
            default_config_files=default_config_files,
        )
    except cfg.ConfigFilesNotFoundError as e:
        raise exception.ConfigError(
            reason=f"config file not found: {', '.join(e.config_files)}"
        ) from None
    except cfg.ConfigFileParseError as e:
        raise exception.ConfigError(reason=f"cannot parse {e.config_file}: {e.msg}") from None
    except cfg.Error as e:
        raise exception.ConfigError(reason=str(e).splitlines()[0]) from None
    except UnicodeDecodeError as e:
        raise exception.ConfigError(
            reason=f"cannot parse a config file: not UTF-8 text (byte {e.start})"
        ) from None
    bounds.check_values(CONF)
    check_names(CONF)


def write_config(
    path: str | os.PathLike,
    default: dict[str, object],
    sections: dict[str, dict[str, object]] | None = None,
) -> str:
    """Write a cinder.conf-like file: ``[DEFAULT]`` then each section; return its text.

    The lab's one config writer (scenarios, the demo, the tests).
    """
    lines = ["[DEFAULT]", *[f"{k} = {v}" for k, v in default.items()], ""]
    for section, opts in (sections or {}).items():
        lines += [f"[{section}]", *[f"{k} = {v}" for k, v in opts.items()], ""]
    text = "\n".join(lines)
    with open(path, "w") as f:
        f.write(text)
    return text


def backend_conf(backend: str) -> cfg.ConfigOpts.GroupAttr:
    """Register and return the options of one ``enabled_backends`` section.

    A backend with no section is an error, as it is for cinder-volume.
    """
    if backend not in CONF.list_all_sections():
        raise exception.ConfigError(
            reason=f"backend '{backend}' is listed in enabled_backends "
            f"but has no [{backend}] section"
        )
    CONF.register_opts(backend_opts, group=backend)
    bounds.check_values(CONF[backend])
    return CONF[backend]


def section_host(conf: cfg.ConfigOpts.GroupAttr) -> str:
    """The host part of a backend section's server name: ``backend_host``, Kilo's alias, else
    ``[DEFAULT] host``."""
    # Kilo read [backend] host as a deprecated alias of backend_host; Pike removed it.
    alias = conf.host if is_kilo() else None
    return conf.backend_host or alias or CONF.host


def backend_host(backend: str) -> str:
    """``(backend_host or host)@backend``: the server name of one backend's service."""
    conf = backend_conf(backend)
    host = check_host(section_host(conf), f"host for backend [{backend}]")
    check_backend_name(backend)
    return f"{host}@{backend}"


check_name = check_host  # the name callers used before the checks were split by kind


def check_names(conf: cfg.ConfigOpts) -> None:
    """Every name a broker or the database reads, checked once the files are parsed.

    Sections of ``enabled_backends`` that do not exist are left to ``backend_conf``:
    the client must still run with a config whose backends live elsewhere.
    """
    check_host(conf.host, "[DEFAULT] host")
    for option in ("volume_topic", "backup_topic", "scheduler_topic"):
        check_topic(conf[option], option)
    seen: set[str] = set()
    for backend in conf.enabled_backends:
        check_backend_name(backend)
        if backend in seen:
            raise exception.ConfigError(
                reason=f"enabled_backends lists {backend!r} twice: one backend, one process"
            )
        seen.add(backend)
        if backend in conf.list_all_sections():
            section = backend_conf(backend)
            host = check_host(section_host(section), f"[{backend}] backend_host")
            pool = check_pool_name(section.volume_backend_name or backend, backend)
            full = f"{host}@{backend}#{pool}"
            if len(full) > HOST_COLUMN_LENGTH:
                raise exception.ConfigError(
                    reason=f"volume host {full[:40]}... of backend [{backend}] is {len(full)} "
                    f"characters; the database keeps {HOST_COLUMN_LENGTH}"
                )
