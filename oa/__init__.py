# Celery is imported with the project so that @shared_task binds to our app.
from oa.celery import app as celery_app

__all__ = ["celery_app"]
