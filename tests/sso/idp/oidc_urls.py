"""URLs of the test OpenID provider (tests/sso/idp/oidc_idp.py)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="registration/login.html")),
    path("accounts/logout/", auth_views.LogoutView.as_view()),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
