"""公文 REST routes, mounted under /api/documents/ (see docs/api.md)."""

urlpatterns: list = []
