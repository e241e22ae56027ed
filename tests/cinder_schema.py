"""Cinder's tables as its source defines them, per release, for tests/unit/test_schema.py.

Written from cinder/db/sqlalchemy/models.py at tag 2015.1.4 (Kilo) and
cinder/db/models.py on master (Aug 2026, the cycle that became 29.0.0;
stable/2026.1 has the same columns): every column of the tables the lab keeps,
the ``CinderBase`` ones (timestamps, soft delete) included. ``FRESH_SERVICE``
is what ``Service._create_service_ref`` (and, today, ``objects.Service.create``
with the model's defaults) leaves in a new ``services`` row before its first
heartbeat; ``SET`` marks a value that is there but differs per row.
"""

BASE = {"created_at", "updated_at", "deleted_at", "deleted"}

KILO = {
    "services": BASE
    | {
        "id",
        "host",
        "binary",
        "topic",
        "report_count",
        "disabled",
        "availability_zone",
        "disabled_reason",
        "modified_at",
    },
    "volumes": BASE
    | {
        "id",
        "_name_id",
        "ec2_id",
        "user_id",
        "project_id",
        "snapshot_id",
        "host",
        "size",
        "availability_zone",
        "status",
        "attach_status",
        "migration_status",
        "scheduled_at",
        "launched_at",
        "terminated_at",
        "display_name",
        "display_description",
        "provider_location",
        "provider_auth",
        "provider_geometry",
        "provider_id",
        "volume_type_id",
        "source_volid",
        "encryption_key_id",
        "consistencygroup_id",
        "bootable",
        "multiattach",
        "replication_status",
        "replication_extended_status",
        "replication_driver_data",
    },
    "backups": BASE
    | {
        "id",
        "user_id",
        "project_id",
        "volume_id",
        "host",
        "availability_zone",
        "display_name",
        "display_description",
        "container",
        "parent_id",
        "status",
        "fail_reason",
        "service_metadata",
        "service",
        "size",
        "object_count",
    },
}

CURRENT = {
    "services": KILO["services"]
    | {
        "uuid",
        "cluster_name",
        "rpc_current_version",
        "object_current_version",
        "replication_status",
        "active_backend_id",
        "frozen",
    },
    "volumes": KILO["volumes"]
    | {
        "use_quota",
        "cluster_name",
        "group_id",
        "previous_status",
        "service_uuid",
        "shared_targets",
    },
    "backups": KILO["backups"]
    | {
        "temp_volume_id",
        "temp_snapshot_id",
        "num_dependent_backups",
        "snapshot_id",
        "data_timestamp",
        "restore_volume_id",
        "encryption_key_id",
    },
    "workers": BASE
    | {"id", "resource_type", "resource_id", "status", "service_id", "race_preventer"},
}

TABLES = {"kilo": KILO, "current": CURRENT}

SET = object()  # present, value per row

FRESH_SERVICE = {
    "kilo": {
        "report_count": 0,
        "updated_at": None,  # no default: NULL until the first heartbeat
        "created_at": SET,
        "deleted": False,
        "deleted_at": None,
        "disabled": False,
        "disabled_reason": None,
        "modified_at": None,
    },
    "current": {
        "report_count": 0,
        "updated_at": SET,  # default=timeutils.utcnow since Newton's cluster change
        "created_at": SET,
        "deleted": False,
        "deleted_at": None,
        "disabled": False,
        "disabled_reason": None,
        "modified_at": None,
        "uuid": SET,
        "cluster_name": None,
        "rpc_current_version": SET,
        "object_current_version": SET,
        "replication_status": "not-capable",
        "active_backend_id": None,
        "frozen": False,
    },
}
