"""Websocket side of the events system: /ws/events/ (docs/events.md)."""
