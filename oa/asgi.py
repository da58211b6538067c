"""ASGI entry point (uvicorn/daphne). HTTP now; the events issue adds the websocket router here."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oa.settings")

application = get_asgi_application()
