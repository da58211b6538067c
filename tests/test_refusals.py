"""One refusal type (oa.refusals.Refusal) and its one handler: pages get the message and the status, the API
gets {"code", "message"} with the status (actions write inside their own transaction, so a refusal leaves
nothing behind; the handlers only render)."""

from __future__ import annotations

import pytest
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from oa.refusals import Refusal
from tests.clients import login


def _refuse():
    raise Refusal("test_conflict", "该事项已由他人办理，无法重复办理。", status=409)


def page_view(request):
    _refuse()


class RefusingApi(APIView):
    def get(self, request):
        _refuse()
        return Response({})


urlpatterns = [
    path("refuse/page", page_view),
    path("api/refuse", RefusingApi.as_view()),
    path("", include("oa.urls")),
]


@pytest.mark.urls("tests.test_refusals")
def test_page_renders_refusal_with_message_and_status(cast):
    client = login(cast.zhangwei, otp=True)
    response = client.get("/refuse/page", HTTP_REFERER="http://testserver/documents/")
    assert response.status_code == 409
    page = response.content.decode()
    assert 'role="alert"' in page and "该事项已由他人办理，无法重复办理。" in page
    assert 'data-code="test_conflict"' in page and 'href="http://testserver/documents/"' in page
    # A foreign referer is not offered as the way back.
    other = client.get("/refuse/page", HTTP_REFERER="https://evil.example/")
    assert "evil.example" not in other.content.decode()


@pytest.mark.urls("tests.test_refusals")
def test_json_caller_of_a_page_gets_the_error_body(cast):
    client = login(cast.zhangwei, otp=True)
    response = client.get("/refuse/page", HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    assert response.json() == {"code": "test_conflict", "message": "该事项已由他人办理，无法重复办理。"}


@pytest.mark.urls("tests.test_refusals")
def test_api_renders_refusal(cast):
    client = login(cast.zhangwei, otp=True)
    response = client.get("/api/refuse")
    assert response.status_code == 409
    assert response.json() == {"code": "test_conflict", "message": "该事项已由他人办理，无法重复办理。"}


def test_refusal_carries_code_message_status():
    refusal = Refusal("not_clerk", "只有本机关的办公室（文书）人员可以下载归档包", status=403)
    assert (refusal.code, refusal.message, refusal.status, str(refusal)) == (
        "not_clerk", "只有本机关的办公室（文书）人员可以下载归档包", 403, "只有本机关的办公室（文书）人员可以下载归档包")
    assert Refusal("c", "中文").status == 400
