"""/services/ (零跑动办事): the routes live beside their views; the item kinds in items/ add their own pages."""

from workflows.services.items.views import urlpatterns as _item_urlpatterns
from workflows.services.views import app_name, urlpatterns  # noqa: F401

urlpatterns = urlpatterns + _item_urlpatterns
