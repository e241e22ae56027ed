"""Request contexts; mirrors cinder/context.py on top of oslo.context.

What travels in every message as ``_context_*`` keys depends on the release:
Kilo's Cinder (2015.1, on oslo.context 0.2) sent 21 keys, today's sends 28
(oslo.context's 17 and Cinder's 11). The lab sends the configured release's set.
"""

from __future__ import annotations

from oslo_context import context

from cinder_lab import utils
from cinder_lab.common import config

# oslo.context 0.2.0's to_dict, which Kilo's Cinder extended.
KILO_BASE_KEYS = (
    "user",
    "tenant",
    "domain",
    "user_domain",
    "project_domain",
    "is_admin",
    "read_only",
    "show_deleted",
    "auth_token",
    "request_id",
    "resource_uuid",
    "user_identity",
)


class RequestContext(context.RequestContext):
    """A request's identity and options; mirrors cinder.context.RequestContext."""

    def __init__(
        self,
        *args: object,
        read_deleted: str = "no",
        remote_address: str | None = None,
        quota_class: str | None = None,
        service_catalog: list | None = None,
        timestamp: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.read_deleted = read_deleted
        self.remote_address = remote_address
        self.quota_class = quota_class
        self.service_catalog = service_catalog or []
        self.timestamp = timestamp or utils.utcnow().isoformat()
        # Today's backup manager tags its messages with what the user-message is about.
        self.message_resource_id: str | None = None
        self.message_resource_type: str | None = None
        self.message_action: tuple | None = None

    def _cinder_keys(self) -> dict:
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "project_name": self.project_name,
            "read_deleted": self.read_deleted,
            "remote_address": self.remote_address,
            "timestamp": self.timestamp,
            "quota_class": self.quota_class,
            "service_catalog": self.service_catalog,
        }

    def to_dict(self) -> dict:
        """The ``_context_*`` keys of the configured release (Kilo: 21, today: 28)."""
        base = super().to_dict()
        if config.is_kilo():
            kilo = {key: base.get(key) for key in KILO_BASE_KEYS}
            kilo["tenant"] = self.project_id
            kilo["user"] = self.user_id
            return {**kilo, **self._cinder_keys(), "roles": list(self.roles)}
        return {
            **base,
            **self._cinder_keys(),
            "domain_id": self.domain_id,
            "message_resource_id": self.message_resource_id,
            "message_resource_type": self.message_resource_type,
            "message_action": self.message_action,
        }

    @classmethod
    def from_dict(cls, values: dict, **kwargs: object) -> RequestContext:
        """Rebuild a context from either release's keys."""
        extra = {
            k: values.get(k)
            for k in (
                "read_deleted",
                "remote_address",
                "quota_class",
                "service_catalog",
                "timestamp",
            )
            if values.get(k) is not None
        }
        ctxt = super().from_dict(values, **extra, **kwargs)
        for key in ("message_resource_id", "message_resource_type", "message_action"):
            setattr(ctxt, key, values.get(key))
        return ctxt


def get_admin_context() -> RequestContext:
    """An admin context with a fresh request id; mirrors cinder.context.get_admin_context."""
    return RequestContext(is_admin=True, overwrite=False, roles=["admin"])
