"""Websocket routes of the apps (the core imports no app): registered from AppConfig.ready(), read once by
oa.realtime.routing when oa.asgi builds the application. Only strings here, so registering imports nothing."""

from __future__ import annotations

_app_routes: dict[str, str] = {}


def register_websocket_route(route: str, consumer: str) -> None:
    """`route` as for django.urls.path (e.g. "ws/meetings/<int:meeting_id>/"), `consumer` the dotted path of a
    consumer class. The route gets the same authentication as /ws/events/."""
    _app_routes[route] = consumer


def registered_websocket_routes() -> dict[str, str]:
    return dict(_app_routes)
