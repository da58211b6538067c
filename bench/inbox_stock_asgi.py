"""bench/inbox.py only: Django's stock ASGI handler (get_asgi_application) over the same settings, to measure what
oa.asgi's one-hop handler saves (docs/performance.md "待办 path")."""

from django.core.asgi import get_asgi_application

application = get_asgi_application()
