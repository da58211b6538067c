"""Plain SQL text for single-row writes of model instances, for the few hot paths that send several writes in one
statement (data-modifying CTEs on PostgreSQL: the audit append together with the act it records).

Column names come from the model's metadata and every value is a parameter: nothing user-supplied enters the SQL
text. No signals are sent and no auto_now field is filled: the caller sets every value itself.
"""

from __future__ import annotations

from django.db import connection, models
from django.db.models import sql


def insert_statement(obj: models.Model, *, with_pk: bool = False) -> tuple[str, list]:
    """``INSERT INTO <table> (<columns>) VALUES (%s, …)`` for ``obj`` as it stands, and its parameters."""
    meta = obj._meta
    fields = [f for f in meta.concrete_fields if with_pk or not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    params = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(params))
    table = connection.ops.quote_name(meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", params  # noqa: S608 (names from metadata)


def update_statement(model: type[models.Model], pk: object, values: dict[str, object]) -> tuple[str, list]:
    """``UPDATE <table> SET <column> = %s, … WHERE <pk> = %s`` with ``values`` keyed by field name."""
    meta = model._meta
    fields = [meta.get_field(name) for name in values]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    pk_column = connection.ops.quote_name(meta.pk.column)
    table = connection.ops.quote_name(meta.db_table)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s"  # noqa: S608 (names from metadata)
    return sql, [*params, meta.pk.get_db_prep_save(pk, connection)]


def queryset_update_statement(queryset: models.QuerySet, **values: object) -> tuple[str, list]:
    """The ``UPDATE`` that ``queryset.update(**values)`` would send (F() expressions allowed), not sent.

    Single-table querysets only: an update through a relation makes Django SELECT the primary keys first, which a
    statement meant to travel inside another one cannot do."""
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(values)
    if query.related_updates or query.count_active_tables() > 1:
        raise ValueError("queryset_update_statement: single-table querysets only")
    text, params = query.get_compiler(queryset.db).as_sql()
    return text, list(params)


def upsert_statement(obj: models.Model, *, conflict: list[str], update: list[str]) -> tuple[str, list]:
    """``INSERT … ON CONFLICT (<conflict>) DO UPDATE SET <update> = EXCLUDED.<update>`` for ``obj`` (PostgreSQL
    and SQLite ≥ 3.24 both read it): the row is created, or only the ``update`` fields of the existing one change."""
    meta = obj._meta
    insert, params = insert_statement(obj)
    quote = connection.ops.quote_name
    targets = ", ".join(quote(meta.get_field(name).column) for name in conflict)
    sets = ", ".join(f"{quote(meta.get_field(name).column)} = EXCLUDED.{quote(meta.get_field(name).column)}"
                     for name in update)
    return f"{insert} ON CONFLICT ({targets}) DO UPDATE SET {sets}", params
