"""REST API routes (/api/). See docs/api.md."""

urlpatterns: list = []
