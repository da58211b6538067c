"""ASGI entry point (uvicorn/daphne): Django over HTTP, /ws/events/ over websocket (docs/events.md)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oa.settings")

# Sets Django up; must run before anything that imports models (the consumers) is imported.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from oa.realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
