"""/services/ (零跑动办事): the routes live beside their views; the item kinds in items/ add their own pages."""

from workflows.services.items.affairs_views import urlpatterns as _affairs_urlpatterns
from workflows.services.items.fleet_views import urlpatterns as _fleet_urlpatterns
from workflows.services.items.views import urlpatterns as _item_urlpatterns
from workflows.services.views import app_name, urlpatterns  # noqa: F401

urlpatterns = urlpatterns + _item_urlpatterns + _affairs_urlpatterns + _fleet_urlpatterns
