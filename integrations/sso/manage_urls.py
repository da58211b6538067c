"""/manage/sso/: 系统管理员 → 统一身份关联 (included by oa/manage_urls.py)."""

from django.urls import path

from integrations.sso import manage_views

urlpatterns = [
    path("", manage_views.identities, name="manage_sso"),
    path("import/", manage_views.identity_import, name="manage_sso_import"),
    path("<int:identity_id>/unlink/", manage_views.identity_unlink, name="manage_sso_unlink"),
]
