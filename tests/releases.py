"""Each release's messages for a create and a backup, as Cinder sends them (issue 10).

One table for the in-process test (tests/unit/test_releases.py) and the one on
the real broker (tests/integration/test_releases_broker.py): (kind, method,
routing key, version, sorted argument names) per message, capability reports aside.
"""

BACKEND = "maqi-kilo@ceph"
QUEUE = f"cinder-volume.{BACKEND}.maqi-kilo"  # today's server queue of the backend
QUIET = ("update_service_capabilities", "notify_service_capabilities")
CONTEXT_KEYS = {"kilo": 21, "current": 28}

KILO_CREATE = [
    (
        "cast",
        "create_volume",
        "cinder-scheduler",
        "1.2",
        ["filter_properties", "image_id", "request_spec", "snapshot_id", "topic", "volume_id"],
    ),
    (
        "cast",
        "create_volume",
        f"cinder-volume.{BACKEND}",
        "1.4",
        [
            "allow_reschedule",
            "cgsnapshot_id",
            "consistencygroup_id",
            "filter_properties",
            "image_id",
            "request_spec",
            "snapshot_id",
            "source_replicaid",
            "source_volid",
            "volume_id",
        ],
    ),
]
CURRENT_CREATE = [
    (
        "cast",
        "create_volume",
        "cinder-scheduler",
        "3.0",
        ["backup_id", "filter_properties", "image_id", "request_spec", "snapshot_id", "volume"],
    ),
    (
        "cast",
        "create_volume",
        QUEUE,
        "3.0",
        ["allow_reschedule", "filter_properties", "request_spec", "volume"],
    ),
]
KILO_BACKUP = [("cast", "create_backup", "cinder-backup.maqi-kilo", "1.0", ["backup_id"])]
CURRENT_BACKUP = [
    ("cast", "create_backup", "cinder-scheduler", "3.0", ["backup"]),
    ("cast", "create_backup", "cinder-backup.maqi-kilo", "2.0", ["backup"]),
    ("cast", "get_backup_device", QUEUE, "3.17", ["async_call", "backup", "want_objects"]),
    ("cast", "continue_backup", "cinder-backup.maqi-kilo", "2.0", ["backup", "backup_device"]),
    ("call", "initialize_connection", QUEUE, "3.0", ["connector", "volume"]),
    ("call", "terminate_connection", QUEUE, "3.0", ["connector", "force", "volume_id"]),
    ("call", "remove_export", QUEUE, "3.0", ["volume_id"]),
]
EXPECTED = {
    "kilo": {"create": KILO_CREATE, "backup": KILO_BACKUP},
    "current": {"create": CURRENT_CREATE, "backup": CURRENT_BACKUP},
}


def requests(events: list) -> list[tuple]:
    """(kind, method, routing key, version, argument names) of each request, as published."""
    return [
        (
            e.kind,
            e.message["method"],
            e.routing_key,
            e.message["version"],
            sorted(e.message["args"]),
        )
        for e in events
        if "method" in e.message and e.message["method"] not in QUIET
    ]


def context_keys(events: list) -> set[int]:
    return {
        len([k for k in e.message if k.startswith("_context_")])
        for e in events
        if "method" in e.message
    }
