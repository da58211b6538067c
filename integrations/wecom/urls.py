"""Platform callback and OAuth2 login routes (/integrations/wecom/). See docs/wecom.md."""

from django.urls import path

from . import views

urlpatterns = [
    path("callback/", views.callback, name="wecom_callback"),
    path("login/", views.login, name="wecom_login"),
    path("oauth/callback/", views.oauth_callback, name="wecom_oauth_callback"),
]
