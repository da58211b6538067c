# 已办 one row per process (helper h2): the flow-task rows of the inbox point at their process.

from django.db import migrations


def point_at_process(apps, schema_editor):
    WorkItem = apps.get_model("oa", "WorkItem")
    Task = apps.get_model("viewflow", "Task")
    rows = WorkItem.objects.filter(kind="flow_task", ref__startswith="viewflow.task:").values_list("id", "ref")
    by_task: dict[int, list[int]] = {}
    for pk, ref in rows.iterator():
        task_id = ref.partition(":")[2]
        if task_id.isdigit():
            by_task.setdefault(int(task_id), []).append(pk)
    ids = list(by_task)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for task_id, process_id in Task.objects.filter(pk__in=chunk).values_list("id", "process_id"):
            WorkItem.objects.filter(pk__in=by_task[task_id]).update(thread=f"viewflow.process:{process_id}")


class Migration(migrations.Migration):

    dependencies = [
        ("workflows", "0003_redistribution"),
        ("oa", "0006_workitem_thread"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [migrations.RunPython(point_at_process, migrations.RunPython.noop)]
