"""URLs of the test CAS server (tests/sso/idp/cas_idp.py)."""

from django.urls import include, path

urlpatterns = [path("cas/", include("cas_server.urls", namespace="cas_server"))]
