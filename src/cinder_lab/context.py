"""Request contexts; mirrors cinder/context.py on top of oslo.context."""

from __future__ import annotations

from oslo_context import context


class RequestContext(context.RequestContext):
    """What travels in every message as ``_context_*`` keys."""


def get_admin_context() -> RequestContext:
    """An admin context with a fresh request id; mirrors cinder.context.get_admin_context."""
    return RequestContext(is_admin=True, overwrite=False)
