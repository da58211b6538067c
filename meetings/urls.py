from meetings.views import app_name, urlpatterns  # noqa: F401  (mounted at /meetings/ by oa/urls.py)
