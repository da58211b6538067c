"""/manage/: the administrators' own pages (oa/views/manage.py, docs/security.md 三员分立)."""

from django.urls import include, path

from oa.views import manage

urlpatterns = [
    path("", manage.index, name="manage"),
    # 系统管理员
    path("people/", manage.people, name="manage_people"),
    path("people/new/", manage.person_new, name="manage_person_new"),
    path("people/<int:person_id>/", manage.person_edit, name="manage_person"),
    path("people/<int:person_id>/active/", manage.person_active, name="manage_person_active"),
    path("people/<int:person_id>/handover/", manage.person_handover, name="manage_person_handover"),
    path("departments/", manage.departments, name="manage_departments"),
    path("departments/<int:department_id>/", manage.department_edit, name="manage_department"),
    path("sso/", include("integrations.sso.manage_urls")),  # 统一身份关联 (docs/sso.md)
    # 安全管理员
    path("roles/", manage.roles, name="manage_roles"),
    path("roles/<int:person_id>/", manage.person_roles, name="manage_person_roles"),
    path("roles/grants/<int:assignment_id>/revoke/", manage.role_revoke, name="manage_role_revoke"),
    path("delegations/", manage.delegations, name="manage_delegations"),
    path("delegations/<int:delegation_id>/revoke/", manage.delegation_revoke, name="manage_delegation_revoke"),
    path("security/", manage.security, name="manage_security"),
    path("security/<int:person_id>/", manage.security_person, name="manage_security_person"),
    path("security/<int:person_id>/otp-reset/", manage.otp_reset, name="manage_otp_reset"),
    path("security/<int:person_id>/password-reset/", manage.password_reset, name="manage_password_reset"),
    path("security/<int:person_id>/unlock/", manage.unlock, name="manage_unlock"),
]
