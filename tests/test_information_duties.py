"""信息报送职责管理 (/information/duties/, docs/information.md 职责管理): a unit's 办公室/文书 keeps its own 信息员 and
信息审核人, the 信息科负责人 keeps the desk and the 统计查看 readers; the picker offers only the unit's staff; every
change is audited; a removal that would strand pieces in review is refused in Chinese; others are refused.
Also: who reads the statistics is data (统计查看), with the default roles while nobody is named."""

from __future__ import annotations

import re

import pytest

from oa.models import Agency, AuditEntry
from oa.refusals import Refusal
from tests.test_information import _client, _draft, _errors, _submit, info  # noqa: F401 (fixture)
from workflows.information import actions as act
from workflows.information.models import InformationDuty

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("info")]


def _agency(short_name: str) -> Agency:
    return Agency.objects.get(short_name=short_name)


def _slot(short_name: str, duty: str) -> str:
    return f"{_agency(short_name).pk}-{duty}"


def _add(client, short_name: str, duty: str, person, status: int = 302):
    slot = _slot(short_name, duty)
    response = client.post("/information/duties/", {"slot": slot, f"{slot}-person": str(person.pk)})
    assert response.status_code == status, _errors(response)
    return response


def _remove(client, person, short_name: str, duty: str, status: int = 302):
    row = InformationDuty.objects.get(person=person, agency=_agency(short_name), duty=duty)
    response = client.post(f"/information/duties/{row.pk}/remove")
    assert response.status_code == status, _errors(response)
    return response


def _options(html: str, slot: str) -> set[str]:
    select = re.search(rf'<select name="{slot}-person"[^>]*>(.*?)</select>', html, re.S).group(1)
    return set(re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select))


def test_a_clerk_lists_adds_and_removes_own_units_duties_audited(cast):
    clerk = _client(cast.finance05)  # 区财政局 办公室 文书
    html = clerk.get("/information/duties/").content.decode()
    assert "区财政局 · 信息员" in html and "区财政局 · 信息审核人" in html and "邓红" in html and "彭涛" in html
    assert "区教育局 · " not in html and "· 信息科编辑" not in html
    # The picker offers the unit's active staff only.
    offered = _options(html, _slot("区财政局", "reporter"))
    assert cast.finance04.name in offered and cast.finance03.name in offered
    assert cast.edu06.name not in offered and cast.xuli.name not in offered
    assert cast.finance06.name not in offered  # already the 信息员

    _add(clerk, "区财政局", "reporter", cast.finance04)
    row = InformationDuty.objects.get(person=cast.finance04, duty="reporter")
    assert row.agency.short_name == "区财政局"
    entry = AuditEntry.objects.filter(action="information.duty_assign").latest("pk")
    assert entry.actor_id == cast.finance05.pk
    assert entry.changes["via"] == "page" and entry.changes["person"] == cast.finance04.pk
    # The new 信息员 can draft at once.
    assert _client(cast.finance04).get("/information/new").status_code == 200

    # Adding the same person twice is refused beside the field, nothing written.
    response = _add(clerk, "区财政局", "reporter", cast.finance04, status=409)
    assert any("已经是区财政局的信息员" in e for e in _errors(response))

    _remove(clerk, cast.finance04, "区财政局", "reporter")
    assert not InformationDuty.objects.filter(person=cast.finance04).exists()
    removed = AuditEntry.objects.filter(action="information.duty_remove").latest("pk")
    assert removed.actor_id == cast.finance05.pk and removed.changes["duty"] == "reporter"
    assert _client(cast.finance04).get("/information/new").status_code == 403


def test_the_clerk_is_refused_outside_the_unit_and_others_are_refused(cast):
    clerk = _client(cast.finance05)
    # Someone of another unit, forged into the picker: refused by name, nothing written.
    response = _add(clerk, "区财政局", "reviewer", cast.edu03, status=400)
    assert any("不在区财政局任职" in e for e in _errors(response))
    assert not InformationDuty.objects.filter(person=cast.edu03, agency=_agency("区财政局")).exists()
    # No choice at all.
    slot = _slot("区财政局", "reviewer")
    response = clerk.post("/information/duties/", {"slot": slot, f"{slot}-person": ""})
    assert response.status_code == 400 and "请选择人员。" in _errors(response)
    # Another unit's slot and another unit's duty row.
    assert _add(clerk, "区教育局", "reporter", cast.edu04, status=403)
    assert not InformationDuty.objects.filter(person=cast.edu04).exists()
    _remove(clerk, cast.edu06, "区教育局", "reporter", status=404)
    assert InformationDuty.objects.filter(person=cast.edu06, duty="reporter").exists()
    # A unit clerk does not keep the desk.
    _remove(clerk, cast.gaojun, "区府办", "desk", status=404)

    # Someone who manages no duty: 403 on the page and on a removal, no 管理 link.
    drafter = _client(cast.zhangwei)
    assert drafter.get("/information/duties/").status_code == 403
    _remove(drafter, cast.finance06, "区财政局", "reporter", status=403)
    assert 'href="/manage/"' not in drafter.get("/").content.decode()
    assert drafter.get("/manage/").status_code == 403
    # A reporter is no manager either.
    assert _client(cast.finance06).get("/information/duties/").status_code == 403
    # The clerk finds the page under 管理.
    assert 'href="/manage/"' in clerk.get("/").content.decode()
    index = clerk.get("/manage/").content.decode()
    assert "业务管理" in index and 'href="/information/duties/"' in index and "人员管理" not in index
    assert AuditEntry.objects.filter(action__startswith="information.duty_", actor=cast.finance05).count() == 0


def test_removing_the_last_reviewer_with_pieces_in_review_is_refused(cast):
    reporter, clerk = _client(cast.finance06), _client(cast.finance05)
    piece = _draft(reporter)
    _submit(reporter, piece)  # now with 彭涛 (finance03), the only 信息审核人
    response = _remove(clerk, cast.finance03, "区财政局", "reviewer", status=409)
    assert "区财政局还有 1 条信息在单位审核中，彭涛是该单位唯一的信息审核人：请先增加一名信息审核人，再取消。" in (
        response.content.decode())
    assert InformationDuty.objects.filter(person=cast.finance03, duty="reviewer").exists()
    # A second reviewer: 彭涛 still holds the step, so 转办 it first.
    _add(clerk, "区财政局", "reviewer", cast.finance01)
    response = _remove(clerk, cast.finance03, "区财政局", "reviewer", status=409)
    assert "彭涛还有 1 条信息待其办理（信息审核人），请先在待办中转办给其他信息审核人，再取消其职责。" in (
        response.content.decode())
    # The one not holding it can go (彭涛 remains).
    _remove(clerk, cast.finance01, "区财政局", "reviewer")
    assert not AuditEntry.objects.filter(action="information.duty_remove", changes__person=cast.finance03.pk).exists()


def test_the_desk_head_keeps_the_desk_and_the_office_clerk_names_the_head(cast):
    head = _client(cast.xuli)  # 信息科负责人 in the demo duties
    html = head.get("/information/duties/").content.decode()
    assert "区府办 · 信息科编辑" in html and "区府办 · 统计查看" in html and "区政府 · 统计查看" in html
    assert "区财政局 · " not in html and "区府办 · 信息员" not in html
    assert cast.finance06.name not in _options(html, _slot("区府办", "desk"))
    _add(head, "区府办", "desk", cast.liuyang)
    assert InformationDuty.objects.filter(person=cast.liuyang, duty="desk").exists()
    _remove(head, cast.liuyang, "区府办", "desk")
    # A piece waiting at the desk: the last editor cannot go.
    reporter = _client(cast.finance06)
    piece = _draft(reporter)
    _submit(reporter, piece)
    from tests.test_information import _step

    _step(_client(cast.finance03), piece, {"decision": "approve", "note": ""})  # to 徐丽 (fewest open steps)
    _remove(head, cast.gaojun, "区府办", "desk")  # 高军 holds nothing: fine
    response = _remove(head, cast.xuli, "区府办", "desk", status=409)
    assert "信息科还有 1 条信息待审核，徐丽是唯一的信息科编辑" in response.content.decode()

    # The 区府办's 文书 names the 信息科负责人 (and keeps the 区府办's own 信息员), not the editors.
    office = _client(cast.liuyang)
    html = office.get("/information/duties/").content.decode()
    assert "区府办 · 信息科负责人" in html and "区府办 · 信息员" in html and "区府办 · 信息科编辑" not in html
    _add(office, "区府办", "desk_head", cast.gaojun)
    assert _client(cast.gaojun).get("/information/duties/").status_code == 200
    _add(office, "区府办", "desk", cast.gaojun, status=403)


def test_statistics_readers_are_data_with_the_default_roles_until_named(cast):
    supervisor, head = _client(cast.wujing), _client(cast.xuli)  # 吴静: 区府办 督查员 (a default role)
    assert supervisor.get("/information/statistics/").status_code == 200
    assert _client(cast.finance01).get("/information/statistics/").status_code == 403  # a bureau's 局长
    assert "尚未指定统计查看人员" in head.get("/information/duties/").content.decode()

    _add(head, "区府办", "statistics", cast.liuyang)  # from now on: the 信息科 and the named readers only
    assert _client(cast.liuyang).get("/information/statistics/").status_code == 200
    assert supervisor.get("/information/statistics/").status_code == 403
    assert "尚未指定统计查看人员" not in head.get("/information/duties/").content.decode()
    assert head.get("/information/statistics/").status_code == 200  # the desk always reads

    _remove(head, cast.liuyang, "区府办", "statistics")
    assert supervisor.get("/information/statistics/").status_code == 200  # back to the default
    assert _client(cast.liuyang).get("/information/statistics/").status_code == 403
    with pytest.raises(Refusal) as refused:
        act.check_assign_duty(None, cast.finance01, _agency("区财政局"), "statistics")
    assert refused.value.code == "statistics_outside_office"


# --- attachment files left behind (docs/information.md 附件) ------------------------------------------------------


def test_a_file_left_by_a_failed_rollback_is_swept_and_referenced_ones_stay(cast, monkeypatch):
    import datetime as dt

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage, storages
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from oa import scheduling
    from tests.test_information import PNG
    from workflows.information.models import Submission, SubmissionAttachment

    kept = _draft(_client(cast.finance06), files=[SimpleUploadedFile("留.png", PNG, content_type="image/png")])
    kept_key = kept.attachments.get().file.name
    before = set(default_storage.listdir(act.ATTACHMENT_PREFIX)[1])

    # A save that fails after the file was stored, while the storage also refuses the rollback's delete.
    def broken_save(self, *args, **kwargs):
        raise RuntimeError("数据库写入失败")

    def broken_delete(self, name):
        raise OSError("存储不可达")

    with monkeypatch.context() as patch:
        patch.setattr(SubmissionAttachment, "save", broken_save)
        patch.setattr(type(storages["default"]), "delete", broken_delete)
        with pytest.raises(RuntimeError, match="数据库写入失败"):  # the original error, not the storage's
            act.check_save_draft(cast.finance06, _agency("区财政局"), act.DraftInput(
                title="回滚", body="正文", category="news",
                uploads=[SimpleUploadedFile("孤.png", PNG, content_type="image/png")]))
    assert not Submission.objects.filter(title="回滚").exists()
    left = set(default_storage.listdir(act.ATTACHMENT_PREFIX)[1]) - before
    assert len(left) == 1
    orphan = f"{act.ATTACHMENT_PREFIX}/{left.pop()}"
    fresh = default_storage.save(f"{act.ATTACHMENT_PREFIX}/fresh", ContentFile(b"x"))

    # Within the grace period nothing goes (a save may still be in flight).
    assert orphan not in act.do_sweep_orphan_attachments()
    # A day later: the orphans go, the referenced file stays.
    removed = act.do_sweep_orphan_attachments(now=timezone.now() + dt.timedelta(hours=25))
    assert orphan in removed and fresh in removed and kept_key not in removed
    assert not default_storage.exists(orphan) and default_storage.exists(kept_key)
    assert kept.attachments.get().file.read() == PNG
    # The sweep is a daily periodic job.
    job = scheduling.registered_jobs()["information.sweep_attachments"]
    assert job.every_seconds == 24 * 3600 and job.func() == "removed=0"
