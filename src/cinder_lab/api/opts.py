"""The ``[api]`` options of cinder-lab-api and of the client that talks to it.

Mirrors Cinder's ``osapi_volume_listen``/``osapi_volume_listen_port`` and the
oslo.middleware body limit in cinder-api's pipeline (``max_request_body_size``,
once ``osapi_max_request_body_size``).
"""

from __future__ import annotations

from oslo_config import cfg

from cinder_lab.common.config import CONF

api_opts = [
    cfg.HostAddressOpt(
        "listen",
        default="127.0.0.1",
        help="Address cinder-lab-api listens on (osapi_volume_listen).",
    ),
    cfg.PortOpt(
        "port",
        default=8776,
        min=1,  # 0 would be any free port: nobody could find the API
        help="Port cinder-lab-api listens on (osapi_volume_listen_port).",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=114688,
        min=1,
        max=2**30,
        help="Largest request body in bytes; larger gets HTTP 413 (oslo.middleware default).",
    ),
    cfg.StrOpt(
        "endpoint",
        help="URL of a running cinder-lab-api, e.g. http://127.0.0.1:8776/v3. Set, the "
        "cinder-lab client sends its volume, backup and service commands there; unset, "
        "it calls the API code in-process.",
    ),
]
CONF.register_opts(api_opts, group="api")
