from meetings.minutes_views import urlpatterns as minutes_urlpatterns
from meetings.views import app_name, urlpatterns  # noqa: F401  (mounted at /meetings/ by oa/urls.py)

urlpatterns = [*urlpatterns, *minutes_urlpatterns]
