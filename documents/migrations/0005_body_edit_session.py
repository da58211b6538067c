"""正文 autosave sessions (docs/editor.md "自动保存会话"): three columns on BodyVersion, and on PostgreSQL a guard that
still refuses every UPDATE of a version except one: the author's next autosave in the same editing session
amending the document's *current* version (content, sha256, saved_at and revision + 1 only).
"""


from django.db import migrations, models

GUARD = """
CREATE OR REPLACE FUNCTION documents_bodyversion_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.edit_session <> '' AND OLD.kind = 'edit'
       AND NEW.id = OLD.id AND NEW.document_id = OLD.document_id AND NEW.number = OLD.number
       AND NEW.kind = OLD.kind AND NEW.author_id = OLD.author_id AND NEW.edit_session = OLD.edit_session
       AND NEW.parent_id IS NOT DISTINCT FROM OLD.parent_id
       AND NEW.baseline_id IS NOT DISTINCT FROM OLD.baseline_id
       AND NEW.marked_up_from_id IS NOT DISTINCT FROM OLD.marked_up_from_id
       AND NEW.created_at = OLD.created_at AND NEW.step = OLD.step
       AND NEW.revision = OLD.revision + 1
       AND EXISTS (SELECT 1 FROM documents_officialdocument d
                   WHERE d.id = OLD.document_id AND d.current_body_id = OLD.id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'body versions are immutable: UPDATE of version % refused', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
STRICT = """
CREATE OR REPLACE FUNCTION documents_bodyversion_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'body versions are immutable: UPDATE of version % refused', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('documents', '0004_incoming_kind'),
    ]

    operations = [
        migrations.AddField(
            model_name='bodyversion',
            name='edit_session',
            field=models.CharField(blank=True, default='', max_length=64, verbose_name='编辑会话'),
        ),
        migrations.AddField(
            model_name='bodyversion',
            name='revision',
            field=models.PositiveIntegerField(default=0, verbose_name='会话内保存次数'),
        ),
        migrations.AddField(
            model_name='bodyversion',
            name='saved_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='最后保存时间'),
        ),
        migrations.RunPython(_on_postgres(GUARD), _on_postgres(STRICT)),
    ]
