"""Websocket URL routes, wrapped in our authentication (imported by oa.asgi after Django is set up)."""

from __future__ import annotations

from channels.routing import URLRouter
from django.urls import path

from oa.realtime.auth import TicketOrSessionAuth
from oa.realtime.consumers import EventsConsumer

websocket_urlpatterns = [
    path("ws/events/", EventsConsumer.as_asgi()),
]

websocket_application = TicketOrSessionAuth(URLRouter(websocket_urlpatterns))
