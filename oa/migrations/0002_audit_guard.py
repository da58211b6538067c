"""On PostgreSQL the database itself refuses UPDATE of audit entries, and DELETE of entries younger than
180 days (the legal minimum retention). SQLite has no such guard; verify_audit still detects tampering."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION oa_audit_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit log is append-only: UPDATE of entry % refused', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.at > now() - interval '180 days' THEN
        RAISE EXCEPTION 'audit entry % is younger than 180 days: DELETE refused', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS oa_audit_guard ON oa_auditentry;
CREATE TRIGGER oa_audit_guard BEFORE UPDATE OR DELETE ON oa_auditentry
    FOR EACH ROW EXECUTE FUNCTION oa_audit_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS oa_audit_guard ON oa_auditentry;
DROP FUNCTION IF EXISTS oa_audit_guard();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("oa", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
