"""The statements on a request's path, built once, and the helpers that run them (lab-only).

Cinder builds each query anew with the ORM's Query API. The lab builds the few
its backup and volume requests run on every message once, with bind
parameters, and runs its writes through SQLAlchemy Core: building a statement,
hashing it for SQLAlchemy's compiled cache and the ORM's unit of work cost
several times what SQLite takes to run it. ``db/api.py`` calls these; the SQL
sent is the same.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from cinder_lab import exception, utils
from cinder_lab.db import models

VOLUME = select(models.Volume).where(models.Volume.id == bindparam("_id"))
BACKUP = select(models.Backup).where(models.Backup.id == bindparam("_id"))
BACKUP_WITH_VOLUME = (
    select(models.Backup, models.Volume)
    .outerjoin(models.Volume, models.Volume.id == models.Backup.volume_id)
    .where(models.Backup.id == bindparam("_id"))
)
# SET takes whichever columns the call passes.
CONDITIONAL_UPDATE = {
    model: model.__table__.update().where(
        model.__table__.c.id == bindparam("_id"),
        model.__table__.c.status == bindparam("_expected"),
    )
    for model in (models.Volume, models.Backup)
}
INSERT = {model: model.__table__.insert() for model in (models.Backup, models.Worker)}
_WORKERS = models.Worker.__table__
# NULL-safe, as filter_by(service_id=None) is: a manager without a service row has None.
WORKERS_DELETE = _WORKERS.delete().where(
    _WORKERS.c.service_id.is_not_distinct_from(bindparam("_service_id")),
    _WORKERS.c.resource_id == bindparam("_resource_id"),
)


def _services(by_topic: bool, by_disabled: bool) -> object:
    query = select(models.Service).order_by(models.Service.binary, models.Service.host)
    if by_topic:
        query = query.where(models.Service.topic == bindparam("_topic"))
    if by_disabled:
        query = query.where(models.Service.disabled == bindparam("_disabled"))
    return query


# Keyed by (filtered by topic, filtered by disabled).
SERVICES = {(t, d): _services(t, d) for t in (False, True) for d in (False, True)}

# Free text: clipped to fit. Every other string column is refused when too long.
CLIPPED = {"status_reason", "fail_reason", "disabled_reason"}


def fit(model: type[models.Base], values: dict) -> dict:
    """Clip a reason to its column's length; refuse any other string that does not fit."""
    fitted = dict(values)
    for key, value in values.items():
        length = getattr(model.__table__.c[key].type, "length", None)
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
    return conn.execute(CONDITIONAL_UPDATE[model], params).rowcount == 1


def insert(conn: Connection, model: type[models.Base], values: dict) -> models.Base:
    """Insert one row in the caller's transaction; the row as a model object in no session."""
    result = conn.execute(INSERT[model], {"created_at": utils.utcnow(), **fit(model, values)})
    # The values as inserted, column defaults and a generated id included.
    row = model(**result.last_inserted_params())
    if row.id is None:
        row.id = result.inserted_primary_key[0]
    return row
