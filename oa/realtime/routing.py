"""Websocket URL routes, wrapped in our authentication (imported by oa.asgi after Django is set up).

Apps add their own routes from AppConfig.ready() with `oa.realtime.routes.register_websocket_route` (the core imports no app): they
get the same authentication as /ws/events/ (session + origin check, or a single-use ticket).
"""

from __future__ import annotations

from channels.routing import URLRouter
from django.urls import path
from django.utils.module_loading import import_string

from oa.realtime.auth import TicketOrSessionAuth
from oa.realtime.consumers import EventsConsumer
from oa.realtime.routes import registered_websocket_routes


def _patterns() -> list:
    return [path("ws/events/", EventsConsumer.as_asgi())] + [
        path(route, import_string(consumer).as_asgi()) for route, consumer in registered_websocket_routes().items()
    ]


websocket_urlpatterns = _patterns()

websocket_application = TicketOrSessionAuth(URLRouter(websocket_urlpatterns))
