from meetings.live_views import urlpatterns as live_urlpatterns
from meetings.minutes_views import urlpatterns as minutes_urlpatterns
from meetings.views import app_name  # noqa: F401  (mounted at /meetings/ by oa/urls.py)
from meetings.views import urlpatterns as page_urlpatterns

urlpatterns = [*page_urlpatterns, *live_urlpatterns, *minutes_urlpatterns]
