"""The audit log becomes several chains (lanes) so appends no longer queue on one head row (docs/security.md
§ 审计链). Existing entries stay exactly as they were hashed: they form chain 1 with seq = id and layout 1 (the
id, not chain/seq, is in their hashed payload); the old single head row becomes chain 1's head. Entries used to
be inserted with explicit ids, so the id sequences are moved past the existing rows."""

from django.db import migrations, models

SETVAL = """
SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table};
"""


def forwards(apps, schema_editor):
    conn = schema_editor.connection
    AuditEntry = apps.get_model("oa", "AuditEntry")
    AuditChainHead = apps.get_model("oa", "AuditChainHead")
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            # The guard trigger (0002) refuses every UPDATE; this one only fills the new position column.
            cur.execute("ALTER TABLE oa_auditentry DISABLE TRIGGER oa_audit_guard")
        cur.execute("UPDATE oa_auditentry SET seq = id, chain = 1, layout = 1")
        if conn.vendor == "postgresql":
            cur.execute("ALTER TABLE oa_auditentry ENABLE TRIGGER oa_audit_guard")
    last = AuditEntry.objects.order_by("-id").first()
    if last is not None and not AuditChainHead.objects.filter(pk=1).exists():
        AuditChainHead.objects.create(pk=1, last_seq=last.id, last_hash=last.hash)
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute(SETVAL.format(table="oa_auditentry"))
            cur.execute(SETVAL.format(table="oa_auditchainhead"))


class Migration(migrations.Migration):
    dependencies = [("oa", "0008_announcements")]

    operations = [
        migrations.RenameField("auditchainhead", "last_id", "last_seq"),
        migrations.RenameField("auditchainhead", "anchor_id", "anchor_seq"),
        migrations.AddField("auditentry", "chain", models.PositiveIntegerField(default=1, verbose_name="链")),
        migrations.AddField("auditentry", "seq", models.BigIntegerField(default=0, verbose_name="链内序号")),
        migrations.AddField("auditentry", "layout", models.PositiveSmallIntegerField(default=1, verbose_name="格式")),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.AlterField("auditentry", "layout", models.PositiveSmallIntegerField(default=2, verbose_name="格式")),
        migrations.AddConstraint(
            "auditentry", models.UniqueConstraint(fields=["chain", "seq"], name="oa_audit_chain_seq_unique")
        ),
    ]
