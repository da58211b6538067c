"""/information/ (信息报送): the routes live beside their views."""

from workflows.information.views import app_name, urlpatterns  # noqa: F401
