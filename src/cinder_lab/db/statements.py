"""The statements on a request's path, built once, and the helpers that run them (lab-only).

Cinder builds each query anew with the ORM's Query API. The lab builds the few
its backup and volume requests run on every message once, with bind
parameters, and runs its writes through SQLAlchemy Core: building a statement,
hashing it for SQLAlchemy's compiled cache and the ORM's unit of work cost
several times what SQLite takes to run it. ``db/api.py`` calls these; the SQL
sent is the same.
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import Connection, bindparam, select, true

from cinder_lab import exception, utils
from cinder_lab.common import config
from cinder_lab.db import models


def live(model: type) -> object:
    """Not soft-deleted, as Cinder's read_deleted="no" reads (a NULL ``deleted`` is live)."""
    return model.deleted.is_not(true())


def _services(m: SimpleNamespace, by_topic: bool, by_disabled: bool) -> object:
    query = select(m.Service).where(live(m.Service))
    query = query.order_by(m.Service.binary, m.Service.host)
    if by_topic:
        query = query.where(m.Service.topic == bindparam("_topic"))
    if by_disabled:
        query = query.where(m.Service.disabled == bindparam("_disabled"))
    return query


def _build(release: str) -> SimpleNamespace:
    m = models.classes(release)
    built = SimpleNamespace(
        VOLUME=select(m.Volume).where(m.Volume.id == bindparam("_id")),
        BACKUP=select(m.Backup).where(m.Backup.id == bindparam("_id")),
        BACKUP_WITH_VOLUME=(
            select(m.Backup, m.Volume)
            .outerjoin(m.Volume, m.Volume.id == m.Backup.volume_id)
            .where(m.Backup.id == bindparam("_id"))
        ),
        # SET takes whichever columns the call passes.
        CONDITIONAL_UPDATE={
            model: model.__table__.update().where(
                model.__table__.c.id == bindparam("_id"),
                model.__table__.c.status == bindparam("_expected"),
            )
            for model in (m.Volume, m.Backup)
        },
        INSERT={model: model.__table__.insert() for model in (m.Backup, m.Worker) if model},
        # Keyed by (filtered by topic, filtered by disabled).
        SERVICES={(t, d): _services(m, t, d) for t in (False, True) for d in (False, True)},
        WORKERS_DELETE=None,
    )
    if m.Worker is not None:  # Newton on; Kilo has no workers table
        workers = m.Worker.__table__
        # NULL-safe, as filter_by(service_id=None) is: a manager without a service row has None.
        built.WORKERS_DELETE = workers.delete().where(
            workers.c.service_id.is_not_distinct_from(bindparam("_service_id")),
            workers.c.resource_id == bindparam("_resource_id"),
        )
    return built


_BUILT = {release: _build(release) for release in models.RELEASES}


def of() -> SimpleNamespace:
    """The configured release's statements."""
    return _BUILT[config.release()]


# Free text: clipped to fit. Every other string column is refused when too long.
CLIPPED = {"status_reason", "fail_reason", "disabled_reason"}


def fit(model: type[models.Base], values: dict) -> dict:
    """Clip a reason to its column's length; refuse any other string that does not fit."""
    fitted = dict(values)
    for key, value in values.items():
        length = getattr(model.__mapper__.columns[key].type, "length", None)
        if not (isinstance(value, str) and length and len(value) > length):
            continue
        if key not in CLIPPED:
            raise exception.InvalidInput(
                reason=f"{model.__tablename__}.{key} is {len(value)} characters, "
                f"longer than the column's {length}"
            )
        fitted[key] = value[: length - 3] + "..."
    return fitted


def conditional_update(
    conn: Connection, model: type[models.Base], row_id: str, values: dict, expected_status: str
) -> bool:
    """``UPDATE ... WHERE id = :id AND status = :expected`` in the caller's transaction."""
    params = {**fit(model, values), "updated_at": utils.utcnow()}
    params.update(_id=row_id, _expected=expected_status)
    return conn.execute(of().CONDITIONAL_UPDATE[model], params).rowcount == 1


def insert(conn: Connection, model: type[models.Base], values: dict) -> models.Base:
    """Insert one row in the caller's transaction; the row as a model object in no session."""
    result = conn.execute(of().INSERT[model], {"created_at": utils.utcnow(), **fit(model, values)})
    # The values as inserted, column defaults and a generated id included.
    row = model(**result.last_inserted_params())
    if row.id is None:
        row.id = result.inserted_primary_key[0]
    return row
