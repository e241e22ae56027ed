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
# What the filter scheduler puts into create_volume's filter_properties (filter_scheduler.py
# _get_weighted_candidates, populate_filter_properties, _add_retry_host/_backend), and the
# request spec the API builds (volume/flows/api/create_volume.py), at 2015.1.4 and master.
POOL = f"{BACKEND}#ceph"
FILTER_PROPERTIES = sorted(
    ["retry", "request_spec", "config_options", "volume_type", "resource_type"]
    + ["size", "availability_zone", "user_id", "metadata", "qos_specs"]
)
RETRY = {
    "kilo": {"num_attempts": 1, "hosts": [POOL]},
    "current": {"num_attempts": 1, "backends": [POOL], "hosts": [POOL]},
}
KILO_SPEC_KEYS = [
    "cgsnapshot_id", "consistencygroup_id", "image_id", "snapshot_id", "source_replicaid",
    "source_volid", "volume_id", "volume_properties", "volume_type",
]  # fmt: skip
# Kilo's EntryCreateTask volume_properties; master's drops replication_status and
# source_replicaid and adds qos_specs and group_id.
KILO_VOLUME_PROPERTIES = [
    "attach_status", "availability_zone", "cgsnapshot_id", "consistencygroup_id",
    "display_description", "display_name", "encryption_key_id", "metadata", "multiattach",
    "project_id", "replication_status", "reservations", "size", "snapshot_id",
    "source_replicaid", "source_volid", "status", "user_id", "volume_type_id",
]  # fmt: skip
CURRENT_VOLUME_PROPERTIES = sorted(
    {*KILO_VOLUME_PROPERTIES, "qos_specs", "group_id"} - {"replication_status", "source_replicaid"}
)
# Today's RequestSpec(**kwargs): the fields the API's VolumeCastTask gives it.
CURRENT_SPEC_FIELDS = [
    "availability_zones", "backup_id", "cgsnapshot_id", "consistencygroup_id", "group_id",
    "image_id", "snapshot_id", "source_volid", "volume", "volume_id", "volume_properties",
    "volume_type",
]  # fmt: skip
OBJECT_VERSIONS = {"Volume": "1.9", "RequestSpec": "1.5", "VolumeProperties": "1.1"}

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


def check_filter_properties(release: str, args: dict) -> None:
    """The backend's create_volume: filter_properties and request_spec as Cinder builds them."""
    props = args["filter_properties"]
    assert sorted(props) == FILTER_PROPERTIES
    assert props["retry"] == RETRY[release]
    assert (props["size"], props["availability_zone"], props["config_options"]) == (1, "nova", {})
    as_dict = props["request_spec"]
    assert as_dict["resource_properties"] == as_dict["volume_properties"]
    if release == "kilo":
        assert sorted(args["request_spec"]) == sorted([*KILO_SPEC_KEYS, "resource_properties"])
        assert sorted(as_dict["volume_properties"]) == KILO_VOLUME_PROPERTIES
        return
    spec = args["request_spec"]
    data = spec["versioned_object.data"]
    assert sorted(data) == CURRENT_SPEC_FIELDS
    assert "resource_properties" not in data  # an alias that never travels in the object
    found = {
        spec["versioned_object.name"]: spec["versioned_object.version"],
        **{
            o["versioned_object.name"]: o["versioned_object.version"]
            for o in (data["volume"], data["volume_properties"])
        },
    }
    assert found == OBJECT_VERSIONS
    assert sorted(data["volume_properties"]["versioned_object.data"]) == CURRENT_VOLUME_PROPERTIES
    assert data["volume"]["versioned_object.data"]["host"] == f"{BACKEND}#ceph"  # placed


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


# One mechanism: what each rpcapi method sends under a given version cap, from
# Cinder's rpcapi modules (1.x forms: 2015.1.4; 3.x and 2.x forms: master, the
# cycle that became 29.0.0). A Kilo client is a client capped at Kilo's
# versions (volume 1.23, backup 1.0, scheduler 1.7); today's client pinned by an
# old services row is one capped at that row's version. (api, method, cap) ->
# (method, routing key, version, sorted argument names), or the exception's name
# when nothing may be sent.
KILO_Q = f"cinder-volume.{BACKEND}"  # Kilo's server queue (and today's below 3.6)
SCHEDULER_CAPS = "capabilities", "host", "service_name"
PINNED = [
    # scheduler/rpcapi.py create_volume: 1.2 with ids (Kilo); 3.0 drops backup_id below 3.10.
    ("scheduler", "create_volume", "1.7", ("create_volume", "cinder-scheduler", "1.2",
        ["filter_properties", "image_id", "request_spec", "snapshot_id", "topic", "volume_id"])),
    ("scheduler", "create_volume", "3.9", ("create_volume", "cinder-scheduler", "3.0",
        ["filter_properties", "image_id", "request_spec", "snapshot_id", "volume"])),
    ("scheduler", "create_volume", "3.12", ("create_volume", "cinder-scheduler", "3.0",
        ["backup_id", "filter_properties", "image_id", "request_spec", "snapshot_id", "volume"])),
    # update_service_capabilities: Kilo's plain prepare(fanout=True) sent the target's 1.0;
    # below 3.3 today sends 3.0 without cluster_name and timestamp.
    ("scheduler", "update_service_capabilities", "1.7",
        ("update_service_capabilities", "cinder-scheduler_fanout", "1.0", sorted(SCHEDULER_CAPS))),
    ("scheduler", "update_service_capabilities", "3.2",
        ("update_service_capabilities", "cinder-scheduler_fanout", "3.0", sorted(SCHEDULER_CAPS))),
    ("scheduler", "update_service_capabilities", "3.3",
        ("update_service_capabilities", "cinder-scheduler_fanout", "3.3",
         sorted([*SCHEDULER_CAPS, "cluster_name", "timestamp"]))),
    # notify_service_capabilities: ServiceTooOld below 3.1; 3.1 names the backend 'host'.
    ("scheduler", "notify_service_capabilities", "1.7", "ServiceTooOld"),
    ("scheduler", "notify_service_capabilities", "3.0", "ServiceTooOld"),
    ("scheduler", "notify_service_capabilities", "3.4", ("notify_service_capabilities",
        "cinder-scheduler", "3.1", ["capabilities", "host", "service_name"])),
    ("scheduler", "notify_service_capabilities", "3.5", ("notify_service_capabilities",
        "cinder-scheduler", "3.5", ["backend", "capabilities", "service_name", "timestamp"])),
    # create_backup through the scheduler: 3.12 (Ussuri) or nothing; sent at the default 3.0.
    ("scheduler", "create_backup", "3.11", "ServiceTooOld"),
    ("scheduler", "create_backup", "3.12", ("create_backup", "cinder-scheduler", "3.0",
        ["backup"])),
    # volume/rpcapi.py create_volume: 1.4 with ids to host@backend; 3.0, topic per backend at 3.6.
    ("volume", "create_volume", "1.23", ("create_volume", KILO_Q, "1.4",
        ["allow_reschedule", "cgsnapshot_id", "consistencygroup_id", "filter_properties",
         "image_id", "request_spec", "snapshot_id", "source_replicaid", "source_volid",
         "volume_id"])),
    ("volume", "create_volume", "3.5", ("create_volume", KILO_Q, "3.0",
        ["allow_reschedule", "filter_properties", "request_spec", "volume"])),
    ("volume", "create_volume", "3.20", ("create_volume", QUEUE, "3.0",
        ["allow_reschedule", "filter_properties", "request_spec", "volume"])),
    ("volume", "publish_service_capabilities", "1.23",
        ("publish_service_capabilities", "cinder-volume_fanout", "1.2", [])),
    ("volume", "publish_service_capabilities", "3.20",
        ("publish_service_capabilities", "cinder-volume_fanout", "3.0", [])),
    ("volume", "get_backup_device", "3.20", ("get_backup_device", QUEUE, "3.17",
        ["async_call", "backup", "want_objects"])),
    # backup/rpcapi.py create_backup: the id at 1.0 (Kilo), the object at 2.0.
    ("backup", "create_backup", "1.0", ("create_backup", "cinder-backup.maqi-kilo", "1.0",
        ["backup_id"])),
    ("backup", "create_backup", "2.4", ("create_backup", "cinder-backup.maqi-kilo", "2.0",
        ["backup"])),
    ("backup", "publish_service_capabilities", "2.1", "ServiceTooOld"),
    ("backup", "publish_service_capabilities", "2.2",
        ("publish_service_capabilities", "cinder-backup_fanout", "2.2", [])),
]  # fmt: skip
