"""The production error pages are ours, in Chinese, in the project's shell (frontend/error_templates), not
viewflow's English "Django Material" pages: viewflow precedes our apps in INSTALLED_APPS and ships
400/403/404/500.html, so TEMPLATES DIRS puts our folder first. CSRF failures get our page via
CSRF_FAILURE_VIEW. 400/500 render without a request or the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.template.loader import get_template
from django.test import Client, override_settings
from django.urls import include, path

from tests.clients import login

ERROR_TEMPLATES = Path(settings.BASE_DIR) / "frontend" / "error_templates"
STYLESHEET = "/static/oa/css/oa.css"
ENGLISH = ("Page not found", "Django Material", "Server Error", "Forbidden", "CSRF verification failed",
           "Access denied", "Bad Request")


def forbidden_view(request):
    raise PermissionDenied("Access denied for this object")


def boom_view(request):
    raise RuntimeError("deliberate test failure")


urlpatterns = [
    path("test-errors/forbidden", forbidden_view),
    path("test-errors/boom", boom_view),
    path("", include("oa.urls")),
]


def _assert_ours(response, status: int, title: str) -> str:
    assert response.status_code == status
    body = response.content.decode()
    assert 'id="error-title"' in body and title in body
    assert 'lang="zh-Hans"' in body
    assert STYLESHEET in body
    assert "回到工作台" in body
    assert 'role="alert"' in body
    for english in ENGLISH:
        assert english not in body, english
    return body


@pytest.mark.parametrize("name", ["400.html", "403.html", "404.html", "500.html", "403_csrf.html"])
def test_our_templates_win_over_viewflows(name):
    origin = Path(get_template(name).origin.name)
    assert origin.parent == ERROR_TEMPLATES


def test_500_and_400_render_without_request_or_database():
    # No db mark: pytest-django fails any query; no request: Django's server_error/bad_request pass none.
    for name, title in (("500.html", "系统出错"), ("400.html", "请求无效")):
        body = get_template(name).render()
        assert title in body and STYLESHEET in body and 'href="/"' in body


@override_settings(DEBUG=False)
def test_unknown_url_logged_in_is_our_404(cast):
    client = login(cast.zhangwei, otp=True)
    body = _assert_ours(client.get("/no-such-page/"), 404, "页面不存在")
    assert "退出登录" in body  # the ordinary shell, with the user's navigation


@override_settings(DEBUG=False)
@pytest.mark.django_db
def test_unknown_url_anonymous_is_our_404():
    body = _assert_ours(Client().get("/documents/no-such-page/"), 404, "页面不存在")
    assert "退出登录" not in body


@override_settings(DEBUG=False)
@pytest.mark.urls("tests.test_error_pages")
def test_permission_denied_is_our_403(cast):
    client = login(cast.zhangwei, otp=True)
    body = _assert_ours(client.get("/test-errors/forbidden"), 403, "无权访问")
    assert "Access denied for this object" not in body


@override_settings(DEBUG=False)
def test_csrf_failure_is_our_403(cast):
    client = login(cast.zhangwei, otp=True, client=Client(enforce_csrf_checks=True))
    _assert_ours(client.post("/accounts/password/change/", {"old_password": "x"}), 403, "页面已过期")


@override_settings(DEBUG=False)
@pytest.mark.django_db
def test_csrf_failure_anonymous_login_form_is_our_403():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "a", "password": "b"})
    _assert_ours(response, 403, "页面已过期")


@override_settings(DEBUG=False)
@pytest.mark.urls("tests.test_error_pages")
def test_unhandled_exception_is_our_500(cast):
    client = login(cast.zhangwei, otp=True, client=Client(raise_request_exception=False))
    body = _assert_ours(client.get("/test-errors/boom"), 500, "系统出错")
    assert "deliberate test failure" not in body and "Traceback" not in body
