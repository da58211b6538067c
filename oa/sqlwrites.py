"""Plain SQL text for single-row writes of model instances, for the few hot paths that send several writes in one
statement (data-modifying CTEs on PostgreSQL: the audit append together with the act it records).

Column names come from the model's metadata and every value is a parameter: nothing user-supplied enters the SQL
text. No signals are sent and no auto_now field is filled: the caller sets every value itself.
"""

from __future__ import annotations

from django.db import connection, models


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
