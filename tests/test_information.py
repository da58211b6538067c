"""信息报送 over HTTP as the demo cast (docs/information.md): draft → unit review → 信息科 采用 with an edit and a
grade (the original kept, a diff shown); 退回 by the unit and by the desk, then resubmission of the same piece;
statistics equal a hand count; the Excel export read back with openpyxl; the 考核 score source; who sees what;
bad input refused in Chinese with nothing half-saved."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS

from oa.models import Agency, AuditEntry, Notification, WorkItem
from tests.clients import login
from workflows.information import actions as act
from workflows.information.assessment import InformationScoreSource, SourceScore
from workflows.information.demo import DUTIES
from workflows.information.models import ScoringRule, Submission, SubmissionAttachment
from workflows.information.statistics import unit_statistics

pytestmark = pytest.mark.django_db

def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, "PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def info(cast):
    """The demo duties (信息员, 审核人, 信息科) and a 计分规则: 区1 市3 省5, 批示 +2."""
    for username, short_name, duty in DUTIES:
        act.check_assign_duty(None, getattr(cast, username), Agency.objects.get(short_name=short_name), duty)
    act.check_save_rule(cast.xuli, act.RuleInput(dt.date(2020, 1, 1), "1", "3", "5", "2"))


def _errors(response) -> list[str]:
    import re

    html = response.content.decode()
    return re.findall(r'field-error-mark" aria-hidden="true">!</span>([^<]*)<', html) + re.findall(
        r'notice-mark" aria-hidden="true">!</span>([^<]*)<', html)


def _client(person):
    client = login(person, otp=True)  # some of the cast keep seals: 2FA passed
    client.person = person
    return client


def _open_task(submission: Submission, person=None) -> Task:
    submission.refresh_from_db()
    tasks = Task.objects.filter(process_id=submission.process_id, flow_task_type="HUMAN",
                                status__in=("ASSIGNED", "STARTED"))
    if person is not None:
        tasks = tasks.filter(owner=person)
    return tasks.get()


def _draft(client, title="区财政局推进预算绩效管理", body="区财政局全面实施预算绩效管理，今年评价项目42个。",
           category="practice", files=(), status=302) -> Submission | None:
    data = {"title": title, "body": body, "category": category}
    if files:
        data["attachments"] = list(files)
    response = client.post("/information/new", data)
    assert response.status_code == status, _errors(response)
    if status != 302:
        return response
    return Submission.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))


def _submit(client, submission: Submission) -> None:
    response = client.post(f"/information/submissions/{submission.pk}/", {"form": "submit",
                                                                          "reviewer": str(_reviewer_pk(submission))})
    assert response.status_code == 302, _errors(response)


def _reviewer_pk(submission: Submission) -> int:
    from workflows.information.selectors import reviewers_of

    return reviewers_of(submission.agency).first().pk


def _step(client, submission: Submission, data: dict, status: int = 302):
    task = _open_task(submission, client.person)
    response = client.post(f"/information/tasks/{task.pk}/", data)
    assert response.status_code == status, _errors(response)
    return response


def _adopt(desk, submission, grade="district", title=None, body=None, instructed=False, note=""):
    return _step(desk, submission, {"decision": "adopt", "grade": grade, "edited_title": title or submission.title,
                                    "edited_body": body or submission.body, "instructed": "on" if instructed else "",
                                    "instruction_note": note, "reason": ""})


def test_draft_review_and_adoption_with_edit_and_grade_over_http(info, cast):
    reporter, reviewer, desk = _client(cast.finance06), _client(cast.finance03), _client(cast.xuli)
    piece = _draft(reporter, files=[SimpleUploadedFile("图表.png", PNG, content_type="image/png")])
    assert piece.status == "draft" and piece.agency.short_name == "区财政局"
    assert piece.attachments.get().kind == "png"
    _submit(reporter, piece)
    piece.refresh_from_db()
    assert piece.status == "unit_review" and piece.submitted_at is None
    # The unit head has it in 待办, linked to the step page.
    todo = WorkItem.objects.get(owner=cast.finance03, box=WorkItem.Box.TODO, state=WorkItem.State.OPEN,
                                thread=f"viewflow.process:{piece.process_id}")
    assert todo.link == f"/information/tasks/{_open_task(piece).pk}/"
    page = reviewer.get(todo.link).content.decode()
    assert "全面实施预算绩效管理" in page and "图表.png" in page
    _step(reviewer, piece, {"decision": "approve", "note": "同意报送。"})
    piece.refresh_from_db()
    assert piece.status == "desk_review" and piece.submitted_at is not None and piece.rounds == 1
    # The 信息科 editor with the fewest open desk steps (徐丽 before 高军) gets it.
    desk_task = _open_task(piece)
    assert desk_task.owner == cast.xuli
    edited = "全面实施预算绩效管理，2026年评价项目42个，涉及资金5.6亿元<含专项>。"
    _adopt(desk, piece, grade="city", title="区财政局全面推进预算绩效管理", body=edited, instructed=True,
           note="区长批示：值得推广。")
    piece.refresh_from_db()
    assert piece.status == "adopted" and piece.grade == "city" and piece.instructed
    assert piece.body == "区财政局全面实施预算绩效管理，今年评价项目42个。"  # the unit's original kept
    assert piece.edited_body == edited and piece.edited_title == "区财政局全面推进预算绩效管理"
    assert Process.objects.get(pk=piece.process_id).status == PROCESS.DONE
    assert Notification.objects.filter(recipient=cast.finance06, event_type="information.adopted").exists()
    audit = AuditEntry.objects.get(action="information.desk_review.adopt")
    assert audit.changes["grade"] == "city" and audit.actor == cast.xuli
    # The diff of the desk's edit: deletions and insertions, escaped.
    html = reporter.get(f"/information/submissions/{piece.pk}/").content.decode()
    assert "<del title=\"删除\">区财政局</del>" in html
    assert "<del title=\"删除\">今</del><ins title=\"增加\">2026</ins>年评价" in html
    assert "<ins title=\"增加\">，涉及资金5.6亿元&lt;含专项&gt;</ins>" in html
    assert "市采用" in html and "5.0 分" in html  # 市 3 + 批示 2
    # The city adoption is followed by the province's: 升级 (never down).
    response = desk.post(f"/information/submissions/{piece.pk}/", {"form": "regrade", "grade": "province",
                                                                   "instructed": "on",
                                                                   "instruction_note": "区长批示：值得推广。"})
    assert response.status_code == 302
    piece.refresh_from_db()
    assert piece.grade == "province" and piece.grade_changed_at is not None
    response = desk.post(f"/information/submissions/{piece.pk}/", {"form": "regrade", "grade": "district",
                                                                   "instructed": "on", "instruction_note": "x"})
    assert response.status_code == 400 and "采用级别只能升级" in response.content.decode()
    assert AuditEntry.objects.filter(action="information.regrade").count() == 1


def test_unit_return_and_desk_return_then_resubmission_of_the_same_piece(info, cast):
    reporter, reviewer, desk = _client(cast.quxi04), _client(cast.quxi03), _client(cast.xuli)
    piece = _draft(reporter, title="曲溪街道网格化治理", body="网格56个。")
    _submit(reporter, piece)
    # 退回 needs a reason.
    response = _step(reviewer, piece, {"decision": "return", "note": ""}, status=400)
    assert "请填写退回理由" in response.content.decode()
    _step(reviewer, piece, {"decision": "return", "note": "请补充成效数据。"})
    piece.refresh_from_db()
    assert piece.status == "unit_returned" and piece.return_reason == "请补充成效数据。"
    assert Notification.objects.filter(recipient=cast.quxi04, event_type="information.returned").exists()
    revise = _open_task(piece, cast.quxi04)
    assert revise.flow_task.name == "revise"
    _step(reporter, piece, {"title": "曲溪街道网格化治理见成效", "body": "网格56个，化解纠纷230宗。",
                            "category": "practice"})
    piece.refresh_from_db()
    assert piece.status == "unit_review" and piece.title == "曲溪街道网格化治理见成效"
    _step(reviewer, piece, {"decision": "approve", "note": ""})
    piece.refresh_from_db()
    first_submitted = piece.submitted_at
    _step(desk, piece, {"decision": "return", "reason": "请补充典型案例。", "grade": ""})
    piece.refresh_from_db()
    assert piece.status == "desk_returned" and piece.return_reason == "请补充典型案例。"
    assert AuditEntry.objects.filter(action="information.desk_review.return").exists()
    _step(reporter, piece, {"title": piece.title, "body": piece.body + "如某村土地纠纷调解。", "category": "practice"})
    _step(reviewer, piece, {"decision": "approve", "note": ""})
    _adopt(desk, piece)
    piece.refresh_from_db()
    # The same piece and process all along: two rounds at the desk, counted once, from its first submission.
    assert Submission.objects.count() == 1 and piece.rounds == 2 and piece.submitted_at == first_submitted
    assert piece.status == "adopted" and Process.objects.get(pk=piece.process_id).status == PROCESS.DONE
    kinds = list(piece.events.values_list("kind", flat=True))
    assert kinds == ["created", "submitted", "unit_returned", "resubmitted", "unit_approved", "desk_returned",
                     "resubmitted", "unit_approved", "adopted"]


def _through(author, reviewer, desk, title, outcome, *, at=None):
    """A piece by the actions (the HTTP path is covered above): adopted with (grade, instructed), 'returned',
    'desk' (waiting) or 'draft'."""
    agency = Agency.objects.get(pk=author.information_duties.get(duty="reporter").agency_id)
    piece = act.check_save_draft(author, agency, act.DraftInput(title=title, body="正文。", category="news"))
    if outcome == "draft":
        return piece
    piece = act.check_submit_draft(author, piece)
    act.check_unit_review(reviewer, _open_task(piece), "approve")
    if at is not None:
        Submission.objects.filter(pk=piece.pk).update(submitted_at=at)
    if outcome == "desk":
        return piece
    task = _open_task(piece)
    if outcome == "returned":
        act.check_desk_review(task.owner, task, "return", "不采用。")
        return piece
    grade, instructed = outcome
    act.check_desk_review(task.owner, task, "adopt", "", act.AdoptionInput(
        edited_title=title, edited_body="正文。", grade=grade, instructed=instructed,
        instruction_note="批示。" if instructed else ""))
    return piece


def _period_pieces(cast):
    f = (cast.finance06, cast.finance03, cast.xuli)
    e = (cast.edu06, cast.edu03, cast.xuli)
    q = (cast.quxi04, cast.quxi03, cast.xuli)
    _through(*f, "财政1", ("district", False))
    _through(*f, "财政2", ("city", True))
    _through(*f, "财政3", "returned")
    _through(*f, "财政4", "desk")
    _through(*f, "财政草稿", "draft")
    _through(*e, "教育1", ("province", False))
    _through(*e, "教育2", ("district", True))
    _through(*q, "曲溪1", "returned")
    # Outside the period: submitted last year.
    _through(*q, "曲溪旧", ("province", True), at=timezone.now() - dt.timedelta(days=400))


def test_statistics_equal_a_hand_count_and_the_excel_round_trip(info, cast):
    _period_pieces(cast)
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=30), today
    rows = {r.unit: r for r in unit_statistics(start, end)}
    # By hand: 财政 报送 4 (the draft never reached the desk), 采用 2 (区1 + 市3 + 批示2 = 6);
    # 教育 报送 2, 采用 2 (省5 + 区1 + 批示2 = 8); 曲溪 报送 1 (the old piece is outside), 采用 0.
    assert (rows["区财政局"].submitted, rows["区财政局"].adopted, rows["区财政局"].rate) == (4, 2, 50.0)
    assert rows["区财政局"].by_grade == {"district": 1, "city": 1, "province": 0}
    assert rows["区财政局"].score == Decimal("6.0") and rows["区财政局"].instructed == 1
    assert (rows["区教育局"].submitted, rows["区教育局"].adopted, rows["区教育局"].score) == (2, 2, Decimal("8.0"))
    assert (rows["曲溪街道"].submitted, rows["曲溪街道"].adopted, rows["曲溪街道"].rate) == (1, 0, 0.0)
    assert rows["区审计局"].submitted == 0 and rows["区审计局"].rate is None

    desk = _client(cast.xuli)
    query = f"start={start.isoformat()}&end={end.isoformat()}"
    page = desk.get(f"/information/statistics/?{query}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "区财政局 市采用 3.0 分" in html
    response = desk.get(f"/information/statistics/?{query}&format=xlsx")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[2]]
    assert header[:4] == ["单位", "报送", "采用", "采用率(%)"]
    table = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert table["区财政局"][1:4] == (4, 2, 50)
    assert table["区财政局"][4:8] == (1, 1, 0, 1) and table["区财政局"][-1] == 6
    assert table["区教育局"][-1] == 8 and table["区审计局"][3] == "—"
    assert table["合计"][1:3] == (7, 4) and table["合计"][-1] == 14


def test_score_source_values_and_drill_down(info, cast):
    _period_pieces(cast)
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=30), today
    ids = {a.short_name: a.pk for a in Agency.objects.all()}
    source = InformationScoreSource()
    assert (source.key, source.label) == ("information", "信息报送")
    scores = source.scores([ids["区财政局"], ids["区教育局"], ids["曲溪街道"], ids["区审计局"]], start, end)
    assert scores[ids["区财政局"]] == SourceScore(50.0, 2, 4, scores[ids["区财政局"]].drill_url)
    assert (scores[ids["区教育局"]].value, scores[ids["曲溪街道"]].value) == (100.0, 0.0)
    assert scores[ids["区审计局"]].value is None and scores[ids["区审计局"]].denominator == 0
    # The drill-down lists exactly the records behind the number.
    page = _client(cast.wujing).get(scores[ids["区财政局"]].drill_url)  # 督查室: a statistics reader
    assert page.status_code == 200
    html = page.content.decode()
    for title in ("财政1", "财政2", "财政3", "财政4"):
        assert f">{title}</a>" in html
    assert "财政草稿" not in html and "教育1" not in html and "采用率 50.0%" in html
    # A unit sees its own records, not another's.
    assert _client(cast.finance06).get(scores[ids["区财政局"]].drill_url).status_code == 200
    assert _client(cast.finance06).get(scores[ids["区教育局"]].drill_url).status_code == 404
    assert _client(cast.zhangwei).get("/information/statistics/").status_code == 403


def test_a_unit_cannot_see_another_units_drafts(info, cast):
    draft = _draft(_client(cast.finance06))
    edu = _client(cast.edu06)
    assert edu.get(f"/information/submissions/{draft.pk}/").status_code == 404
    assert edu.get(f"/information/submissions/{draft.pk}/edit").status_code == 404
    assert "推进预算绩效管理" not in edu.get("/information/").content.decode()
    # Not even the 信息科 before the unit has submitted it.
    assert _client(cast.xuli).get(f"/information/submissions/{draft.pk}/").status_code == 404
    # The unit's reviewer sees it; a step page of another unit's piece is 404 to outsiders.
    assert _client(cast.finance03).get(f"/information/submissions/{draft.pk}/").status_code == 200
    _submit(_client(cast.finance06), draft)
    task = _open_task(draft)
    assert edu.get(f"/information/tasks/{task.pk}/").status_code == 404
    # Someone else's step cannot be done by a visitor who may see the piece.
    response = _client(cast.finance06).post(f"/information/tasks/{task.pk}/", {"decision": "approve"})
    assert response.status_code == 403


def test_bad_input_is_refused_in_chinese_and_nothing_is_half_saved(info, cast, tmp_path, settings):
    reporter = _client(cast.finance06)
    response = _draft(reporter, body="   ", status=400)
    assert "请填写正文" in response.content.decode()
    fake = SimpleUploadedFile("报告.pdf", b"MZ\x90\x00 this is a windows executable", content_type="application/pdf")
    response = _draft(reporter, files=[fake], status=400)
    assert "附件“报告.pdf”" in response.content.decode()
    exe_named_png = SimpleUploadedFile("照片.png", b"%PDF-1.4\n%%EOF\n", content_type="image/png")
    response = _draft(reporter, files=[exe_named_png], status=400)
    assert "文件内容与扩展名不符" in response.content.decode()
    assert Submission.objects.count() == 0 and SubmissionAttachment.objects.count() == 0

    # A good draft with one attachment, then an edit adding a bad one: the draft is unchanged.
    piece = _draft(reporter, files=[SimpleUploadedFile("图表.png", PNG, content_type="image/png")])
    response = reporter.post(f"/information/submissions/{piece.pk}/edit", {
        "title": "改过的标题", "body": "改过的正文", "category": "news",
        "attachments": [SimpleUploadedFile("说明.txt", "纯文本".encode(), content_type="text/plain")]})
    assert response.status_code == 400 and "此处不接受" in response.content.decode()
    piece.refresh_from_db()
    assert piece.title == "区财政局推进预算绩效管理" and piece.attachments.count() == 1

    # A grade not in the list: refused with the valid ones named, the piece still at the desk.
    _submit(reporter, piece)
    _step(_client(cast.finance03), piece, {"decision": "approve", "note": ""})
    response = _step(_client(cast.xuli), piece, {"decision": "adopt", "grade": "national", "edited_title": "标题",
                                                 "edited_body": "正文", "reason": ""}, status=400)
    assert "采用级别无效：只能是区采用、市采用、省采用之一" in response.content.decode()
    response = _step(_client(cast.xuli), piece, {"decision": "adopt", "grade": "city", "edited_title": "标题",
                                                 "edited_body": "  ", "reason": ""}, status=400)
    assert "请填写采用正文" in response.content.decode()
    piece.refresh_from_db()
    assert piece.status == "desk_review" and piece.grade == "" and piece.edited_body == ""
    assert _open_task(piece).flow_task.name == "desk_review"
    assert not AuditEntry.objects.filter(action="information.desk_review.adopt").exists()


def test_scoring_rules_are_validated_data(info, cast):
    desk = _client(cast.xuli)
    good = {"effective_from": "2026-07-01", "district_points": "2", "city_points": "4", "province_points": "8",
            "instruction_points": "3", "note": "下半年"}
    for change, message in [({"city_points": "1"}, "区采用 ≤ 市采用 ≤ 省采用"),
                            ({"province_points": "120"}, "须在 0～100 分之间"),
                            ({"district_points": "abc"}, "须为数字"),
                            ({"instruction_points": "1.25"}, "最多保留一位小数"),
                            ({"effective_from": "2020-01-01"}, "已有一条计分规则")]:
        response = desk.post("/information/rules/", {**good, **change})
        assert response.status_code in (400, 409) and message in response.content.decode(), change
    assert ScoringRule.objects.count() == 1
    assert desk.post("/information/rules/", good).status_code == 302
    assert ScoringRule.objects.count() == 2
    assert _client(cast.finance06).post("/information/rules/", good).status_code == 403
    # A piece adopted on a day scores by the rule in force that day.
    from workflows.information.statistics import piece_score

    piece = _through(cast.finance06, cast.finance03, cast.xuli, "计分", ("city", True))
    Submission.objects.filter(pk=piece.pk).update(adopted_at=timezone.make_aware(dt.datetime(2026, 7, 2, 10)))
    piece.refresh_from_db()
    assert piece_score(piece) == Decimal("7.0")
    Submission.objects.filter(pk=piece.pk).update(adopted_at=timezone.make_aware(dt.datetime(2026, 6, 30, 10)))
    piece.refresh_from_db()
    assert piece_score(piece) == Decimal("5.0")


def test_demo_loader_is_idempotent_and_shows_every_grade(cast):
    from workflows.information.demo import do_load_information_demo

    assert do_load_information_demo() == 7
    assert do_load_information_demo() == 0
    grades = set(Submission.objects.filter(status="adopted").values_list("grade", flat=True))
    assert grades == {"district", "city", "province"}
    assert Submission.objects.filter(status="desk_returned").count() == 1
    assert Submission.objects.filter(status="draft").count() == 1


def test_the_pages_render_for_the_desk_and_a_unit_with_the_demo_data(cast):
    from workflows.information.demo import do_load_information_demo

    do_load_information_demo()
    desk, reporter = _client(cast.xuli), _client(cast.finance06)
    home = desk.get("/information/").content.decode()
    assert "信息科工作台" in home and "计分规则" in home
    page = desk.get("/information/desk/?status=adopted").content.decode()
    assert "区教育局推进“双减”工作取得阶段性成效" in page and "省采用" in page
    assert "曲溪街道扎实开展汛期安全隐患排查" not in page  # waiting, filtered out
    rules = desk.get("/information/rules/").content.decode()
    assert "新增计分规则" in rules and "演示：区1分" in rules
    mine = reporter.get("/information/").content.decode()
    assert "起草政务信息" in mine and "关于部分镇街预算执行进度偏慢的情况反映" in mine
    assert "区教育局推进" not in mine
    waiting = Submission.objects.get(title="曲溪街道扎实开展汛期安全隐患排查")
    task = _open_task(waiting)
    step = _client(task.owner).get(f"/information/tasks/{task.pk}/").content.decode()
    assert "采用或退回" in step and 'name="grade"' in step and "区采用" in step
    assert reporter.get("/information/rules/").status_code == 403
