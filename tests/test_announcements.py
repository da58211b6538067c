"""通知公告 (docs/workbench.md): who may publish, who sees what, escaping, audit, withdraw, expiry, and the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oa.actions.announcements import check_publish_announcement, check_withdraw_announcement
from oa.models import Agency, Announcement, AuditEntry
from oa.refusals import Refusal
from oa.selectors.announcements import access_announcement_by_id, announcements_visible_to, may_publish
from tests.clients import login
from tests.test_ui import assert_clean_html, html_of

pytestmark = pytest.mark.django_db


def _agency(short: str) -> Agency:
    return Agency.objects.get(short_name=short)


def _last_audit() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _titles(person) -> list[str]:
    return list(announcements_visible_to(person).values_list("title", flat=True))


def test_demo_seeds_announcements_for_the_workbench(cast):
    # load_demo: two district-wide from 区府办 (one pinned, listed first) and one for 政数局 only.
    zhangwei = _titles(cast.zhangwei)
    assert zhangwei[0] == "关于2027年元旦放假安排的通知"
    assert "本局12月份政务数据共享工作例会安排" not in zhangwei
    assert "本局12月份政务数据共享工作例会安排" in _titles(cast.tanglei)  # 政数局 staff
    assert "关于2027年元旦放假安排的通知" in _titles(cast.tanglei)  # district-wide reaches every agency


def test_clerk_publishes_to_the_district_and_it_is_audited(cast):
    before = _last_audit()
    office = _agency("区府办")
    a = check_publish_announcement(
        cast.liuyang, agency=office, title="  关于开展年终考核的通知 ", body="第一行\r\n第二行\x07",
        district_wide=True, pinned=False, ip="10.0.0.8",
    )
    assert (a.title, a.body, a.published_by, a.agency, a.district_wide) == (
        "关于开展年终考核的通知", "第一行\n第二行", cast.liuyang, office, True)
    assert a.published_at <= timezone.now()
    entry = AuditEntry.objects.get(pk__gt=before, action="announcement.publish")
    assert entry.actor == cast.liuyang and entry.object_id == str(a.pk) and entry.ip == "10.0.0.8"
    assert entry.changes["district_wide"] is True and entry.changes["title"] == "关于开展年终考核的通知"
    # Everyone in the district sees it, another agency's drafter included.
    assert a.title in _titles(cast.tanglei) and a.title in _titles(cast.zhangwei)


def test_only_an_agencys_clerk_publishes_and_only_the_office_district_wide(cast):
    office, data = _agency("区府办"), _agency("区政数局")
    assert may_publish(cast.liuyang) and may_publish(cast.hanxue) and not may_publish(cast.zhangwei)
    count = Announcement.objects.count()
    before = _last_audit()
    refusals = [
        (cast.zhangwei, office, True, "announcement_forbidden"),  # 拟稿人, not 文书
        (cast.hanxue, office, False, "announcement_forbidden"),  # 政数局's 文书 for 区府办
        (cast.hanxue, data, True, "announcement_scope"),  # a bureau cannot address the whole district
    ]
    for actor, agency, district, code in refusals:
        with pytest.raises(Refusal) as exc:
            check_publish_announcement(actor, agency=agency, title="标题", body="正文", district_wide=district)
        assert exc.value.code == code, (actor, code)
    for title, body, code in (("", "正文", "announcement_title"), ("标" * 101, "正文", "announcement_title"),
                              ("标题", " \n ", "announcement_body"), ("标题", "字" * 5001, "announcement_body")):
        with pytest.raises(Refusal) as exc:
            check_publish_announcement(cast.liuyang, agency=office, title=title, body=body)
        assert exc.value.code == code
    with pytest.raises(Refusal) as exc:
        check_publish_announcement(cast.liuyang, agency=office, title="标题", body="正文",
                                   expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert exc.value.code == "announcement_expiry"
    assert Announcement.objects.count() == count and _last_audit() == before  # nothing half-written

    # 政数局's own: its staff see it (何梅 too, whose 兼职 is in 区府办), 区府办's staff do not.
    own = check_publish_announcement(cast.hanxue, agency=data, title="政数局内部通知", body="正文")
    assert own.title in _titles(cast.tanglei) and own.title in _titles(cast.hemei)
    assert own.title not in _titles(cast.zhangwei)
    with pytest.raises(Exception) as missing:
        access_announcement_by_id(cast.zhangwei, own.pk)
    assert missing.type.__name__ == "Http404"


def test_withdrawn_and_expired_leave_the_workbench(cast):
    office = _agency("区府办")
    soon = check_publish_announcement(cast.liuyang, agency=office, title="即将过期", body="正文", district_wide=True,
                                      expires_at=timezone.now() + dt.timedelta(hours=1))
    gone = check_publish_announcement(cast.liuyang, agency=office, title="将被撤回", body="正文", district_wide=True)
    assert {"即将过期", "将被撤回"} <= set(_titles(cast.zhangwei))

    with pytest.raises(Refusal) as exc:
        check_withdraw_announcement(cast.zhangwei, gone)
    assert exc.value.code == "announcement_forbidden"
    before = _last_audit()
    check_withdraw_announcement(cast.liuyang, gone, ip="10.0.0.9")
    gone.refresh_from_db()
    assert gone.withdrawn_by == cast.liuyang and gone.withdrawn_at is not None
    assert AuditEntry.objects.get(pk__gt=before, action="announcement.withdraw").object_id == str(gone.pk)
    with pytest.raises(Refusal) as exc:
        check_withdraw_announcement(cast.liuyang, gone)
    assert exc.value.code == "announcement_withdrawn" and exc.value.status == 409
    assert "将被撤回" not in _titles(cast.zhangwei)
    # The reader gets 404; the publisher still finds it (marked 已撤回).
    with pytest.raises(Exception):
        access_announcement_by_id(cast.zhangwei, gone.pk)
    assert access_announcement_by_id(cast.liuyang, gone.pk) == gone

    Announcement.objects.filter(pk=soon.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert "即将过期" not in _titles(cast.zhangwei)


def test_publish_form_keeps_input_shows_errors_beside_fields_and_escapes(client, cast):
    url = reverse("announcement_new")
    # Not a 文书: no form at all.
    assert login(cast.zhangwei, client=Client()).get(url).status_code == 403
    assert 'href="/announcements/new/"' not in html_of(login(cast.zhangwei, client=Client()).get(
        reverse("announcements")))

    browser = login(cast.liuyang, client=client)
    html = html_of(browser.get(url))
    assert "全区可见" in html and "发布机关" in html
    assert_clean_html(html)
    office = _agency("区府办")
    count = Announcement.objects.count()
    bad = browser.post(url, {"agency": office.pk, "title": "<b>留着的标题</b>", "body": "",
                             "expires_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat()})
    assert bad.status_code == 400 and Announcement.objects.count() == count
    page = bad.content.decode()
    assert "请填写正文。" in page and 'role="alert"' in page
    assert 'value="&lt;b&gt;留着的标题&lt;/b&gt;"' in page  # kept, escaped

    bad = browser.post(url, {"agency": office.pk, "title": "标题", "body": "正文",
                             "expires_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat()})
    assert bad.status_code == 400 and "有效期须晚于现在" in bad.content.decode()

    ok = browser.post(url, {"agency": office.pk, "title": "<script>alert(1)</script>通知",
                            "body": "第一段<img src=x onerror=alert(1)>\n第二段", "district_wide": "on", "pinned": "on"})
    assert ok.status_code == 302
    a = Announcement.objects.get(title="<script>alert(1)</script>通知")
    assert ok["Location"] == reverse("announcement", args=[a.pk]) and a.pinned and a.district_wide

    reader = login(cast.tanglei, client=Client())
    detail = html_of(reader.get(ok["Location"]))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;通知" in detail and "<script>alert" not in detail
    assert "第一段&lt;img src=x onerror=alert(1)&gt;<br>第二段" in detail
    assert "撤回这条通知公告" not in detail  # readers cannot withdraw
    assert_clean_html(detail)
    listing = html_of(reader.get(reverse("announcements")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;通知" in listing and "置顶" in listing
    # The home page shows it too, escaped.
    home = html_of(reader.get(reverse("home")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;通知" in home

    # Withdraw through the page: audited, gone from the reader's list, reader gets 404 afterwards.
    assert reader.post(reverse("announcement_withdraw", args=[a.pk])).status_code == 302
    a.refresh_from_db()
    assert a.withdrawn_at is None  # the reader's POST was refused (message shown), nothing changed
    assert browser.post(reverse("announcement_withdraw", args=[a.pk])).status_code == 302
    a.refresh_from_db()
    assert a.withdrawn_by == cast.liuyang
    assert reader.get(reverse("announcement", args=[a.pk])).status_code == 404
    assert "已撤回" in html_of(browser.get(reverse("announcement", args=[a.pk])))
    assert Client().get(reverse("announcements")).status_code == 302  # login required
