"""Celery wired to Django settings (CELERY_* keys). Embedded mode runs tasks eagerly in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oa.settings")

app = Celery("oa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _beat_from_registry(sender: Celery, **kwargs) -> None:
    # Beat runs exactly the jobs the embedded scheduler runs (oa.scheduling registry).
    from oa.scheduling import beat_schedule

    sender.conf.beat_schedule = beat_schedule()
