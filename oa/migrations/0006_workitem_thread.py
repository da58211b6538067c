# 已办 one row per piece of work (helper h2): WorkItem.thread, filled with the ref for existing rows
# (workflows 0004_workitem_thread_process then points flow-task rows at their process).

from django.db import migrations, models
from django.db.models import F


def fill_thread(apps, schema_editor):
    WorkItem = apps.get_model("oa", "WorkItem")
    WorkItem.objects.filter(thread="").update(thread=F("ref"))


class Migration(migrations.Migration):

    dependencies = [
        ('oa', '0005_workitem_note_outcome'),
    ]

    operations = [
        migrations.AddField(
            model_name='workitem',
            name='thread',
            field=models.CharField(blank=True, default='', max_length=100, verbose_name='所属事项'),
        ),
        migrations.AddIndex(
            model_name='workitem',
            index=models.Index(fields=['owner', 'thread'], name='workitem_owner_thread_idx'),
        ),
        migrations.RunPython(fill_thread, migrations.RunPython.noop),
    ]
