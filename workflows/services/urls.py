"""/services/ (零跑动办事): the routes live beside their views."""

from workflows.services.views import app_name, urlpatterns  # noqa: F401
