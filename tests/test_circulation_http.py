"""传阅 over HTTP as the demo cast: the 传阅情况 page and panel, 阅知 and 催阅 as form posts and JSON, the 文书's
未阅 list, the workbench's 阅知 action, 404/403 for outsiders, CSRF."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from oa.models import AuditEntry, WorkItem
from tests.clients import login
from tests.test_circulation import make_incoming, office, row_of
from workflows.actions.circulation import (
    check_acknowledge_circulation,
    do_circulate,
    do_mark_circulation_opened,
)

pytestmark = pytest.mark.django_db


def page_url(incoming) -> str:
    return f"/flows/incoming/{incoming.pk}/circulation/"


def circulated(cast, *readers, by=None):
    incoming = make_incoming()
    do_circulate(incoming, [getattr(cast, r) for r in readers], by=by or cast.liuyang, note="请阅")
    return incoming


def text(response) -> str:
    return response.content.decode()


# --- the page and the panel ---------------------------------------------------------------------------------


def test_reader_sees_the_acknowledge_form_and_the_page_does_not_count_as_opening(cast):
    incoming = circulated(cast, "zhangwei", "xuli")
    client = login(cast.zhangwei)

    response = client.get(page_url(incoming))

    assert response.status_code == 200
    body = text(response)
    assert incoming.title in body and "阅知意见（选填）" in body
    assert f'action="/flows/incoming/{incoming.pk}/circulation/acknowledge"' in body
    assert 'name="csrfmiddlewaretoken"' in body and 'maxlength="1000"' in body
    assert "不能关闭" in body  # the reader is told the openings are recorded
    assert "阅读情况" not in body and "徐丽" not in body  # a reader does not see the others
    assert row_of(incoming, cast.zhangwei).open_count == 0  # only the 收文 detail page counts as 打开


def test_acknowledge_by_form_post_then_again_is_refused_on_the_page(cast):
    incoming = circulated(cast, "zhangwei")
    client = login(cast.zhangwei)

    response = client.post(f"{page_url(incoming)}acknowledge", {"comment": "已阅，同意。"})

    assert response.status_code == 302 and response["Location"] == page_url(incoming)
    row = row_of(incoming, cast.zhangwei)
    assert row.acknowledged_at is not None and row.comment == "已阅，同意。"
    body = text(client.get(page_url(incoming)))
    assert "您已于" in body and "已阅，同意。" in body and "阅知意见（选填）" not in body

    again = client.post(f"{page_url(incoming)}acknowledge", {"comment": "再次"})
    assert again.status_code == 409 and "不能重复阅知" in text(again)
    assert row_of(incoming, cast.zhangwei).comment == "已阅，同意。"


def test_acknowledge_returns_to_the_detail_page_when_asked(cast):
    incoming = circulated(cast, "zhangwei")
    response = login(cast.zhangwei).post(f"{page_url(incoming)}acknowledge", {"back": "detail"})
    assert response.status_code == 302 and response["Location"] == f"/flows/incoming/{incoming.pk}/"


def test_too_long_comment_comes_back_with_the_text_and_a_chinese_error(cast):
    incoming = circulated(cast, "zhangwei")
    comment = "阅" * 1001

    response = login(cast.zhangwei).post(f"{page_url(incoming)}acknowledge", {"comment": comment})

    assert response.status_code == 400
    body = text(response)
    assert "阅知意见不能超过 1000 字" in body and comment in body
    assert row_of(incoming, cast.zhangwei).acknowledged_at is None


def test_acknowledge_refuses_control_chars_in_the_comment(cast):
    incoming = circulated(cast, "zhangwei")
    api = f"/api/flows/incoming/{incoming.pk}/circulation/acknowledge"
    refused = login(cast.zhangwei).post(api, {"comment": "已阅\u202e。阅已"}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["code"] == "text_control_chars"
    assert refused.json()["message"].startswith("阅知意见含有控制字符")
    page = login(cast.zhangwei).post(f"{page_url(incoming)}acknowledge", {"comment": "已阅\x08。"})
    assert page.status_code == 400 and "阅知意见含有控制字符" in text(page)
    assert row_of(incoming, cast.zhangwei).acknowledged_at is None
    done = login(cast.zhangwei).post(api, {"comment": "已阅。\n同意。"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["comment"] == "已阅。\n同意。"


def test_outsiders_get_404_and_a_non_reader_who_may_see_the_incoming_gets_403(cast):
    incoming = circulated(cast, "zhangwei")
    outsider = login(cast.gaojun)  # 综合科 科员: no role over 收文, not on the list

    assert outsider.get(page_url(incoming)).status_code == 404
    assert outsider.post(f"{page_url(incoming)}acknowledge", {"comment": "x"}).status_code == 404
    assert outsider.post(f"{page_url(incoming)}urge").status_code == 404

    lina = login(cast.lina)  # 核稿人 sees the 收文 but is not a reader
    page = lina.get(page_url(incoming))
    assert page.status_code == 200 and "您不在本文的传阅名单中" in text(page)
    refused = lina.post(f"{page_url(incoming)}acknowledge", {"comment": "x"})
    assert refused.status_code == 403 and "不在本文的传阅名单中" in text(refused)
    assert row_of(incoming, cast.zhangwei).acknowledged_at is None


def test_clerk_sees_every_reader_with_times_a_summary_bar_and_urge_buttons(cast):
    incoming = circulated(cast, "zhangwei", "xuli", "wujing")
    do_mark_circulation_opened(incoming, cast.xuli)
    do_mark_circulation_opened(incoming, cast.xuli)
    check_acknowledge_circulation(cast.wujing, incoming, comment="请综合科牵头")

    body = text(login(cast.liuyang).get(page_url(incoming)))

    assert "阅读情况（共 3 人）" in body
    assert 'aria-label="已阅知 1 人，已打开未阅知 1 人，未打开 1 人"' in body
    assert re.search(r'<rect class="circ-seg circ-acknowledged" x="0\.0" y="0" width="33\.33"', body)
    for label in ("送达", "首次打开", "最近打开", "打开次数", "阅知时间"):
        assert f"<dt>{label}</dt>" in body
    assert "2 次" in body and "请综合科牵头" in body
    assert body.count('aria-label="催阅 ') == 2  # 张伟 and 徐丽; 吴静 has 阅知
    assert 'aria-label="催阅 吴静"' not in body and "催阅全部未阅知人员" in body
    assert "style=" not in body.split('id="circulation"')[1]  # CSP: no inline style in the panel


def test_urge_by_form_post_from_the_sender_and_refusal_for_a_reader(cast):
    incoming = circulated(cast, "zhangwei", "xuli", by=cast.wangfang)
    sender = login(cast.wangfang, otp=True)

    response = sender.post(f"{page_url(incoming)}urge", {"reader": [cast.zhangwei.pk]}, follow=True)

    assert response.status_code == 200 and "已催阅 1 人。" in text(response)
    assert (row_of(incoming, cast.zhangwei).urge_count, row_of(incoming, cast.xuli).urge_count) == (1, 0)
    assert sender.post(f"{page_url(incoming)}urge").status_code == 302
    assert (row_of(incoming, cast.zhangwei).urge_count, row_of(incoming, cast.xuli).urge_count) == (2, 1)

    refused = login(cast.zhangwei).post(f"{page_url(incoming)}urge")
    assert refused.status_code == 403 and "只有送阅人或本机关文书可以催阅" in text(refused)
    assert row_of(incoming, cast.xuli).urge_count == 1


# --- the 未阅 list --------------------------------------------------------------------------------------------


def test_clerk_unread_list_filters_and_urges_from_there(cast):
    first = circulated(cast, "zhangwei", "xuli")
    second = circulated(cast, "wujing")
    check_acknowledge_circulation(cast.xuli, first)
    client = login(cast.liuyang)

    body = text(client.get("/flows/circulation/unread/"))
    assert "未阅清单" in body and office().name in body
    assert "共 2 条" in body and "张伟" in body and "吴静" in body
    assert f'id="unread-{row_of(first, cast.xuli).pk}"' not in body  # 阅知 rows are not 未阅
    assert "送达，已" in body

    filtered = text(client.get("/flows/circulation/unread/", {"reader": cast.wujing.pk}))
    assert "共 1 条" in filtered and f'id="unread-{row_of(second, cast.wujing).pk}"' in filtered

    response = client.post(f"{page_url(second)}urge", {
        "reader": cast.wujing.pk, "back": "unread", "back_agency": office().pk, "back_reader": cast.wujing.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/flows/circulation/unread/?agency={office().pk}&reader={cast.wujing.pk}"
    assert row_of(second, cast.wujing).urge_count == 1
    assert "已催阅 1 次" in text(client.get(response["Location"]))

    assert login(cast.zhangwei).get("/flows/circulation/unread/").status_code == 403


# --- JSON API ------------------------------------------------------------------------------------------------


def test_api_list_acknowledge_and_urge(cast):
    incoming = circulated(cast, "zhangwei", "xuli")
    api = f"/api/flows/incoming/{incoming.pk}/circulation"
    reader = login(cast.zhangwei)

    mine = reader.get(api).json()
    assert [r["reader"]["name"] for r in mine["rows"]] == ["张伟"]  # a reader sees only their own row
    everyone = login(cast.liuyang).get(api).json()
    assert [r["reader"]["name"] for r in everyone["rows"]] == ["张伟", "徐丽"]
    assert everyone["rows"][0]["state"] == "unopened" and everyone["rows"][0]["note"] == "请阅"

    done = reader.post(f"{api}/acknowledge", {"comment": "已阅"}, content_type="application/json")
    assert done.status_code == 200
    assert done.json()["state"] == "acknowledged" and done.json()["comment"] == "已阅"
    assert done.json()["open_count"] == 1 and done.json()["acknowledged_at"]

    again = reader.post(f"{api}/acknowledge", {}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "already_acknowledged"

    urged = login(cast.liuyang).post(f"{api}/urge", {"readers": [cast.xuli.pk]}, content_type="application/json")
    assert urged.status_code == 200 and urged.json() == {"urged": 1}
    nothing = login(cast.liuyang).post(f"{api}/urge", {"readers": [cast.zhangwei.pk]}, content_type="application/json")
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_urge"

    refused = reader.post(f"{api}/urge", {}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert login(cast.gaojun).get(api).status_code == 404


def test_posts_need_the_csrf_token(cast):
    incoming = circulated(cast, "zhangwei")
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.zhangwei)

    assert client.post(f"{page_url(incoming)}acknowledge", {"comment": "x"}).status_code == 403
    assert client.post(f"/api/flows/incoming/{incoming.pk}/circulation/acknowledge", {"comment": "x"},
                       content_type="application/json").status_code == 403
    assert row_of(incoming, cast.zhangwei).acknowledged_at is None


# --- the workbench: 待阅 → 已阅 with the 阅知 action ----------------------------------------------------------


def test_workbench_toread_item_acknowledged_from_the_item_page_moves_to_read(cast):
    incoming = circulated(cast, "xuli")
    client = login(cast.xuli)
    item = WorkItem.objects.get(ref=f"circulation:{row_of(incoming, cast.xuli).pk}")

    link = f'href="/work/{item.pk}/"'
    assert link in text(client.get("/work/", {"box": "toread"}))
    detail = text(client.get(f"/work/{item.pk}/"))
    assert f'/work/{item.pk}/actions/acknowledge/' in detail and ">阅知</button>" in detail
    assert f'href="/flows/incoming/{incoming.pk}/"' in detail

    response = client.post(f"/work/{item.pk}/actions/acknowledge/", {"opinion": ""})

    assert response.status_code == 302 and response["Location"] == "/work/?box=toread"
    assert row_of(incoming, cast.xuli).acknowledged_at is not None
    assert link not in text(client.get("/work/", {"box": "toread"}))
    assert link in text(client.get("/work/", {"box": "read"}))
    assert AuditEntry.objects.filter(action="circulation.acknowledge", actor=cast.xuli).exists()


def test_work_api_action_acknowledges(cast):
    incoming = circulated(cast, "wujing")
    client = login(cast.wujing)
    item = WorkItem.objects.get(ref=f"circulation:{row_of(incoming, cast.wujing).pk}")

    rows = client.get("/api/work", {"box": "toread"}).json()["results"]
    row = next(r for r in rows if r["id"] == item.pk)
    assert row["kind"] == "circulation" and row["kind_label"] == "传阅"

    response = client.post(f"/api/work/{item.pk}/actions/acknowledge", {}, content_type="application/json")

    assert response.status_code == 200, response.content
    assert row_of(incoming, cast.wujing).acknowledged_at is not None
    assert [r["id"] for r in client.get("/api/work", {"box": "read"}).json()["results"]].count(item.pk) == 1


def test_the_unread_tile_is_on_the_clerks_workbench_only(cast):
    clerk = text(login(cast.liuyang).get("/"))
    assert 'href="/flows/circulation/unread/"' in clerk and "未阅清单" in clerk
    assert 'href="/flows/circulation/unread/"' not in text(login(cast.zhangwei).get("/"))


def test_through_the_incoming_detail_page_every_open_is_recorded_and_the_panel_is_there(cast):
    incoming = circulated(cast, "zhangwei", "xuli")
    reader = login(cast.zhangwei)
    detail = f"/flows/incoming/{incoming.pk}/"

    first = reader.get(detail)
    assert first.status_code == 200
    body = text(first)
    assert 'id="circulation"' in body and "阅知意见（选填）" in body and 'name="back" value="detail"' in body
    reader.get(detail)
    row = row_of(incoming, cast.zhangwei)
    assert row.open_count == 2 and row.first_opened_at < row.last_opened_at

    done = reader.post(f"{page_url(incoming)}acknowledge", {"comment": "已阅", "back": "detail"})
    assert done.status_code == 302 and done["Location"] == detail
    assert "您已于" in text(reader.get(detail))
    assert row_of(incoming, cast.zhangwei).open_count == 3

    clerk = text(login(cast.liuyang).get(detail))  # the 文书 reads the list; their visit records nothing
    assert "阅读情况（共 2 人）" in clerk and 'aria-label="催阅 徐丽"' in clerk
    assert not row_of(incoming, cast.xuli).open_count
