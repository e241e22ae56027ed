"""What the filter scheduler hands the volume service; mirrors cinder/scheduler/filter_scheduler.py.

The lab's manager chooses the pool itself (``host_manager.usable_pools``);
this module builds the ``filter_properties`` Cinder's filter scheduler casts
with ``create_volume``, key for key, for each release (2015.1.4 and master):
``retry`` (the first attempt, the chosen pool already in it), the
``request_spec``, ``config_options`` (empty without
``scheduler_json_config_location``), ``volume_type`` and ``resource_type``,
then ``populate_filter_properties``'s size, zone, user, metadata and QoS.
"""

from __future__ import annotations

from oslo_serialization import jsonutils

from cinder_lab.common import config


def populate_filter_properties(request_spec: object, filter_properties: dict) -> None:
    """The new volume's properties the filters read; mirrors the method of that name."""
    vol = request_spec["volume_properties"]
    filter_properties["size"] = vol["size"]
    filter_properties["availability_zone"] = vol.get("availability_zone")
    filter_properties["user_id"] = vol.get("user_id")
    filter_properties["metadata"] = vol.get("metadata")
    filter_properties["qos_specs"] = vol.get("qos_specs")


def filter_properties_for(request_spec: object, backend_id: str) -> dict:
    """``filter_properties`` after ``backend_id`` (``host@backend#pool``) was chosen.

    Kilo copies ``volume_properties`` into the dict request_spec as
    ``resource_properties`` (so the volume service receives it too); today the
    RequestSpec object answers ``resource_properties`` itself and
    ``filter_properties`` holds its ``jsonutils.to_primitive`` dict. Today's
    ``retry`` names the backend twice, as ``hosts`` and ``backends``.
    """
    if config.is_kilo():
        request_spec["resource_properties"] = dict(request_spec["volume_properties"])
        volume_type = request_spec.get("volume_type")
        retry = {"num_attempts": 1, "hosts": [backend_id]}
        spec = request_spec
    else:
        volume_type = request_spec.get("volume_type") or {}
        retry = {"num_attempts": 1, "backends": [backend_id], "hosts": [backend_id]}
        spec = jsonutils.to_primitive(request_spec)
    properties = {
        "retry": retry,
        "request_spec": spec,
        "config_options": {},
        "volume_type": volume_type,
        "resource_type": volume_type,
    }
    populate_filter_properties(request_spec, properties)
    return properties
