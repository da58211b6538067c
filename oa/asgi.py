"""ASGI entry point (uvicorn/daphne): Django over HTTP, /ws/events/ over websocket (docs/events.md)."""

import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oa.settings")


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler with the whole middleware chain and the view run in one worker-thread hop.

    Stock Django builds an async chain under ASGI: with sync-only middleware (whitenoise, viewflow's two) it hops
    to the sync thread for the chain, back to the event loop below the innermost one, and to the thread again for
    our (sync) views; async-capable Django middleware (MiddlewareMixin) hop once per hook. Every view of ours is
    sync, so the chain is built in sync mode and entered once (thread_sensitive, the same thread Django gives sync
    views, so connections and the ORM behave as before). An async view would still work: Django's sync path
    runs it with async_to_sync. docs/performance.md "待办 path" has the measurement."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


django.setup(set_prefix=False)  # what get_asgi_application() does; must precede importing the consumers
django_asgi_app = OneHopASGIHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from oa.realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
