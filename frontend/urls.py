"""Workbench pages (inbox, item detail), PWA manifest, service worker and offline shell."""

urlpatterns: list = []
