"""PostgreSQL only: the GIN index full-text search uses, and a guard that refuses UPDATE of 正文 versions.

The index expression matches what ``SearchVector("search_text", config="simple")`` emits (COALESCE included),
or the planner would never use it. SQLite (the embedded default) searches with icontains and has no guard;
BodyVersion.save() refuses updates there too.
"""

from django.db import migrations

INDEX = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_officialdocument_search_gin
    ON documents_officialdocument USING gin (to_tsvector('simple'::regconfig, COALESCE(search_text, '')));
"""
GUARD = """
CREATE OR REPLACE FUNCTION documents_bodyversion_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'body versions are immutable: UPDATE of version % refused', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS documents_bodyversion_guard ON documents_bodyversion;
CREATE TRIGGER documents_bodyversion_guard BEFORE UPDATE ON documents_bodyversion
    FOR EACH ROW EXECUTE FUNCTION documents_bodyversion_guard();
"""
DROP = """
DROP INDEX CONCURRENTLY IF EXISTS documents_officialdocument_search_gin;
"""
DROP_GUARD = """
DROP TRIGGER IF EXISTS documents_bodyversion_guard ON documents_bodyversion;
DROP FUNCTION IF EXISTS documents_bodyversion_guard();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("documents", "0001_initial")]

    operations = [
        migrations.RunPython(_on_postgres(INDEX), _on_postgres(DROP)),
        migrations.RunPython(_on_postgres(GUARD), _on_postgres(DROP_GUARD)),
    ]
