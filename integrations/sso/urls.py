from django.urls import path

from integrations.sso import views

app_name = "sso"

urlpatterns = [
    path("oidc/login/", views.oidc_start, name="oidc_login"),
    path("oidc/callback/", views.oidc_callback, name="oidc_callback"),
    path("cas/login/", views.cas_login, name="cas_login"),
]
