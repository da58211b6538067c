"""办理意见 (immutable, audited, validated) and the personal 常用语 book (HTTP as the demo cast)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django import forms
from django.http import Http404
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone
from lxml import html as lxml_html
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.actions.documents import do_create_document
from oa.models import Agency, AuditEntry
from oa.refusals import Refusal
from tests.clients import login
from tests.flowapp.flows import MemoFlow
from workflows.actions.opinions import (
    OPINION_MAX,
    check_add_phrase,
    check_move_phrase,
    do_count_phrase_use,
    do_record_opinion,
)
from workflows.models import CommonPhrase, Opinion, OpinionImmutableError
from workflows.selectors.opinions import (
    DEFAULT_PHRASES,
    GENERIC_DEFAULT_PHRASES,
    opinions_for_document,
    opinions_for_process,
    phrases_for,
)
from workflows.views.opinions import opinion_form_field

pytestmark = pytest.mark.django_db

OFFICE = "揭阳市揭东区人民政府办公室"


def start_memo(cast):
    return MemoFlow.start.run(
        title="关于开展安全生产检查的通知", urgency=0, reviewer_id=cast.lina.pk, handler_id=cast.zhoumin.pk,
        doc_number="", initiator_id=cast.zhangwei.pk,
    )


def review_task(process) -> Task:
    return Task.objects.get(process=process, status=STATUS.ASSIGNED)


def make_document(cast):
    return do_create_document(actor=cast.zhangwei, agency=Agency.objects.get(name=OFFICE), title="关于做好防汛工作的通知")


def opinion_audits():
    return AuditEntry.objects.filter(action="flow.opinion").order_by("pk")



def phrase_texts(person) -> list[str]:
    return list(CommonPhrase.objects.filter(person=person).order_by("position", "-use_count", "id")
                .values_list("text", flat=True))


# --- Opinion: recorded, audited, immutable ------------------------------------------------------------------


def test_opinion_is_recorded_with_full_date_and_audited(cast):
    process = start_memo(cast)
    task = review_task(process)
    document = make_document(cast)
    before = opinion_audits().count()

    opinion = do_record_opinion(
        actor=cast.lina, process=process, task=task, document=document, step="审核", node="review",
        kind=Opinion.Kind.AGREE, text="  同意，请办公室核稿。\r\n ", ip="10.0.0.8",
    )

    opinion.refresh_from_db()
    assert opinion.text == "同意，请办公室核稿。"  # stripped, newline-normalised
    assert opinion.signed_date == timezone.localdate()
    assert (opinion.author, opinion.on_behalf_of, opinion.task, opinion.document) == (cast.lina, None, task, document)
    assert opinion.signer_label == "李娜" and opinion.is_approval
    entries = list(opinion_audits())
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry.actor_id, entry.object_type, entry.object_id, entry.ip) == (
        cast.lina.pk, "workflows.opinion", str(opinion.pk), "10.0.0.8")
    assert entry.changes == {
        "flow": "MemoFlow", "process": process.pk, "task": task.pk, "document": document.pk, "step": "审核",
        "node": "review", "kind": "agree", "text": "同意，请办公室核稿。", "signed_date": timezone.localdate().isoformat(),
    }


def test_opinion_on_behalf_says_who_signed_for_whom(cast):
    process = start_memo(cast)
    opinion = do_record_opinion(actor=cast.lina, on_behalf_of=cast.wangfang, process=process, step="签发",
                                kind=Opinion.Kind.AGREE, text="同意。")
    assert opinion.signer_label == "李娜 代 王芳"
    entry = opinion_audits().last()
    assert (entry.actor_id, entry.on_behalf_of_id, entry.on_behalf_of_name) == (cast.lina.pk, cast.wangfang.pk, "王芳")
    # Acting "on behalf of" oneself is just acting.
    own = do_record_opinion(actor=cast.wangfang, on_behalf_of=cast.wangfang, process=process, step="签发",
                            kind=Opinion.Kind.AGREE, text="同意。")
    assert own.on_behalf_of is None and own.signer_label == "王芳"


def test_opinion_cannot_be_changed_or_deleted(cast):
    process = start_memo(cast)
    opinion = do_record_opinion(actor=cast.wangfang, process=process, step="签发", kind=Opinion.Kind.AGREE,
                                text="同意印发。")
    opinion.text = "不同意。"
    with pytest.raises(OpinionImmutableError):
        opinion.save()
    with pytest.raises(OpinionImmutableError):
        opinion.delete()
    assert Opinion.objects.get(pk=opinion.pk).text == "同意印发。"


def test_circle_read_may_be_empty_and_counts_as_approval(cast):
    process = start_memo(cast)
    opinion = do_record_opinion(actor=cast.huangjianhua, process=process, step="签发", kind=Opinion.Kind.CIRCLE)
    assert opinion.text == "" and opinion.is_approval and opinion.display_text == "圈阅"
    assert opinion_audits().last().changes["kind"] == "circle"


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        # 签发 needs text or 圈阅; the hint names 圈阅 only where the page offers it (circle_offered)
        ({"kind": "agree", "text": "", "circle_offered": True}, "opinion_required", "圈阅"),
        ({"kind": "agree", "text": " \r\n "}, "opinion_required", "请填写签发意见"),
        ({"kind": "disagree", "text": ""}, "opinion_required", "请填写"),
        ({"kind": "return", "text": ""}, "return_reason_required", "退回须填写理由"),
        ({"kind": "agree", "text": "同" * (OPINION_MAX + 1)}, "opinion_too_long", "不能超过 2000 字"),
        ({"kind": "approve", "text": "同意。"}, "opinion_kind_invalid", "意见类型不正确"),
        # Control and bidi characters are refused by the action itself, whatever path the text came by.
        ({"kind": "agree", "text": "同意\u202e。意同不"}, "text_control_chars", "意见含有控制字符或不可见的文字方向符"),
        ({"kind": "agree", "text": "同意\x07"}, "text_control_chars", "意见含有控制字符"),
        ({"kind": "return", "text": "请修改\u2066第二段"}, "text_control_chars", "意见含有控制字符"),
        ({"kind": "agree", "text": "同意。", "step": " "}, "opinion_step_invalid", "环节名称不能为空"),
        ({"kind": "agree", "text": "同意。", "signed_date": "tomorrow"}, "opinion_date_invalid", "不能晚于今天"),
        ({"kind": "agree", "text": "同意。", "signed_date": "long ago"}, "opinion_date_invalid", "不能早于流程发起日期"),
    ],
)
def test_invalid_opinions_are_refused_in_chinese_and_nothing_is_written(cast, kwargs, code, words):
    process = start_memo(cast)
    kwargs = {"step": "签发", **kwargs}
    dates = {"tomorrow": timezone.localdate() + dt.timedelta(days=1),
             "long ago": timezone.localdate(process.created) - dt.timedelta(days=1)}
    if "signed_date" in kwargs:
        kwargs["signed_date"] = dates[kwargs["signed_date"]]
    opinions, audits = Opinion.objects.count(), opinion_audits().count()

    with pytest.raises(Refusal) as caught:
        do_record_opinion(actor=cast.wangfang, process=process, **kwargs)

    assert caught.value.code == code and caught.value.status == 400
    assert words in caught.value.message
    assert (Opinion.objects.count(), opinion_audits().count()) == (opinions, audits)


def test_opinion_may_span_lines(cast):
    opinion = do_record_opinion(actor=cast.wangfang, process=start_memo(cast), step="签发", kind=Opinion.Kind.AGREE,
                                text="同意。\r\n请办公室印发。\n（限本周内）")
    assert opinion.text == "同意。\n请办公室印发。\n（限本周内）"


def bearer(person) -> Client:
    from oa.actions.tokens import do_issue_token

    raw, _ = do_issue_token(person, name="测试")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_work_api_and_workbench_refuse_control_chars_in_the_opinion(cast):
    """办理完成 through /api/work/… and the workbench page bypass the opinion form: the action refuses."""
    from oa.models import WorkItem
    from workflows.actions import check_complete_task

    process = start_memo(cast)
    task = review_task(process)
    item = WorkItem.objects.get(owner=cast.lina, ref__endswith=f":{task.pk}", box=WorkItem.Box.TODO)
    hostile = "同意\u202e。意同不"
    answer = bearer(cast.lina).post(f"/api/work/{item.pk}/actions/complete", {"opinion": hostile},
                                    content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "text_control_chars"
    assert answer.json()["message"].startswith("办理意见含有控制字符")
    page = login(cast.lina, otp=True).post(f"/work/{item.pk}/actions/complete/", {"opinion": "已阅\x0b。"})
    assert page.status_code == 400 and "办理意见含有控制字符" in page.content.decode()
    task.refresh_from_db()
    item.refresh_from_db()
    assert task.status == STATUS.ASSIGNED and item.state == WorkItem.State.OPEN and "opinion" not in (task.data or {})
    assert not AuditEntry.objects.filter(action="flow.task_complete").exists()
    # Line breaks are fine, and the task completes.
    done = check_complete_task(cast.lina, task, "同意。\n请周敏办理。")
    assert done.data["opinion"] == "同意。\n请周敏办理。"


def test_opinion_of_a_task_from_another_process_is_refused(cast):
    first, second = start_memo(cast), start_memo(cast)
    with pytest.raises(Refusal) as caught:
        do_record_opinion(actor=cast.lina, process=first, task=review_task(second), step="审核", kind="agree",
                          text="同意。")
    assert caught.value.code == "opinion_task_mismatch"
    assert not Opinion.objects.filter(process__in=[first, second]).exists()


def test_opinions_for_document_only_for_those_who_may_see_it(cast):
    process = start_memo(cast)
    document = make_document(cast)
    first = do_record_opinion(actor=cast.lina, process=process, document=document, step="审核", kind="agree",
                              text="同意，请办公室核稿。")
    second = do_record_opinion(actor=cast.wangfang, process=process, document=document, step="签发",
                               kind="circle")
    other = do_record_opinion(actor=cast.lina, process=start_memo(cast), step="审核", kind="agree", text="同意。")

    assert list(opinions_for_document(cast.zhangwei, document)) == [first, second]  # the drafter
    assert list(opinions_for_document(cast.huangjianhua, document.pk)) == [first, second]  # agency-wide role
    with pytest.raises(Http404):
        opinions_for_document(cast.finance01, document)  # another agency: not even its existence
    assert list(opinions_for_process(process)) == [first, second]
    assert other not in opinions_for_process(process)


# --- 常用语: ordering, use counts, defaults --------------------------------------------------------------------


def test_phrases_are_personal_ordered_and_counted_when_an_opinion_uses_them(cast):
    zhangwei = cast.zhangwei
    for text in ("同意。", "拟同意，请黄建华同志审签。", "已阅。"):
        check_add_phrase(person=zhangwei, text=text)
    check_add_phrase(person=cast.lina, text="请修改后再报。")
    assert phrase_texts(zhangwei) == ["同意。", "拟同意，请黄建华同志审签。", "已阅。"]
    assert list(CommonPhrase.objects.filter(person=zhangwei).order_by("position").values_list("position", flat=True)) \
        == [1, 2, 3]

    process = start_memo(cast)
    do_record_opinion(actor=zhangwei, process=process, step="核稿", kind="agree", text=" 拟同意，请黄建华同志审签。 ")
    do_record_opinion(actor=zhangwei, process=process, step="核稿", kind="agree", text="拟同意，请黄建华同志审签。")
    do_record_opinion(actor=zhangwei, process=process, step="核稿", kind="agree", text="同意。请尽快办理。")  # edited
    counts = dict(CommonPhrase.objects.filter(person=zhangwei).values_list("text", "use_count"))
    assert counts == {"同意。": 0, "拟同意，请黄建华同志审签。": 2, "已阅。": 0}
    assert not do_count_phrase_use(person=zhangwei, text="")
    assert do_count_phrase_use(person=zhangwei, text="已阅。")

    # Personal phrases, by position; another person's are never offered.
    options = phrases_for(zhangwei, "签发")
    assert [o.text for o in options] == ["同意。", "拟同意，请黄建华同志审签。", "已阅。"]
    assert all(o.personal for o in options) and options[1].use_count == 2

    # Equal positions (e.g. after an import): the most used comes first.
    CommonPhrase.objects.filter(person=zhangwei).update(position=1)
    assert [o.text for o in phrases_for(zhangwei)] == ["拟同意，请黄建华同志审签。", "已阅。", "同意。"]


def test_defaults_per_step_when_a_person_has_no_phrases(cast):
    assert not CommonPhrase.objects.filter(person=cast.wangfang).exists()
    signoff = phrases_for(cast.wangfang, "签发")
    assert [o.text for o in signoff] == list(DEFAULT_PHRASES["签发"])
    assert not any(o.personal for o in signoff)
    assert "拟同意，请×××审签。" in [o.text for o in phrases_for(cast.wangfang, "核稿")]
    assert "请××阅示。" in [o.text for o in phrases_for(cast.wangfang, "拟办")]
    assert [o.text for o in phrases_for(cast.wangfang)] == list(GENERIC_DEFAULT_PHRASES)
    assert [o.text for o in phrases_for(cast.wangfang, "未知环节")] == list(GENERIC_DEFAULT_PHRASES)


def test_phrase_validation(cast):
    check_add_phrase(person=cast.zhangwei, text="同意。")
    cases = [("同意。", "phrase_duplicate", "已存在"), ("  ", "phrase_empty", "不能为空"),
             ("意" * 201, "phrase_too_long", "不能超过 200 字")]
    for text, code, words in cases:
        with pytest.raises(Refusal) as caught:
            check_add_phrase(person=cast.zhangwei, text=text)
        assert (caught.value.code, caught.value.status) == (code, 400) and words in caught.value.message
    assert phrase_texts(cast.zhangwei) == ["同意。"]
    # The same words are fine in someone else's book.
    check_add_phrase(person=cast.lina, text="同意。")
    phrase = CommonPhrase.objects.get(person=cast.zhangwei)
    with pytest.raises(Refusal) as caught:
        check_move_phrase(person=cast.zhangwei, phrase=phrase, direction="left")
    assert caught.value.code == "phrase_direction_invalid"
    with pytest.raises(Refusal) as caught:
        check_move_phrase(person=cast.lina, phrase=phrase, direction="up")
    assert caught.value.code == "phrase_not_found"


# --- 常用语 pages through HTTP as 张伟 ---------------------------------------------------------------------------


def test_phrase_page_add_move_remove_as_zhangwei(cast):
    zhangwei = cast.zhangwei
    client = login(zhangwei)

    page = client.get("/flows/phrases/")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.content.decode())
    assert doc.xpath("//label[@for='id_text']/text()") == ["新常用语"]
    assert doc.xpath("//input[@id='id_text']/@maxlength") == ["200"]
    assert not doc.xpath("//script[not(@src)]")  # CSP: no inline script

    for text in ("同意。", "已阅。", "按此办理。"):
        response = client.post("/flows/phrases/", {"text": text})
        assert response.status_code == 302 and response["Location"] == "/flows/phrases/"
    assert phrase_texts(zhangwei) == ["同意。", "已阅。", "按此办理。"]

    duplicate = client.post("/flows/phrases/", {"text": " 已阅。 "})
    assert duplicate.status_code == 400 and "常用语“已阅。”已存在。" in duplicate.content.decode()
    empty = client.post("/flows/phrases/", {"text": ""})
    assert empty.status_code == 400 and "常用语不能为空。" in empty.content.decode()
    assert len(phrase_texts(zhangwei)) == 3

    third = CommonPhrase.objects.get(person=zhangwei, text="按此办理。")
    response = client.post(f"/flows/phrases/{third.pk}/move/", {"direction": "up"})
    assert response.status_code == 302 and response["Location"] == f"/flows/phrases/#phrase-{third.pk}"
    assert phrase_texts(zhangwei) == ["同意。", "按此办理。", "已阅。"]
    client.post(f"/flows/phrases/{third.pk}/move/", {"direction": "up"})
    client.post(f"/flows/phrases/{third.pk}/move/", {"direction": "up"})  # already first: nothing changes
    assert phrase_texts(zhangwei) == ["按此办理。", "同意。", "已阅。"]
    first = CommonPhrase.objects.get(person=zhangwei, text="同意。")
    client.post(f"/flows/phrases/{first.pk}/move/", {"direction": "down"})
    assert phrase_texts(zhangwei) == ["按此办理。", "已阅。", "同意。"]
    bad = client.post(f"/flows/phrases/{first.pk}/move/", {"direction": "sideways"})
    assert bad.status_code == 400 and "移动方向只能是上移或下移。" in bad.content.decode()

    page = lxml_html.fromstring(client.get("/flows/phrases/").content.decode())
    assert [t.strip() for t in page.xpath("//li[contains(@class,'phrase-row')]//span[contains(@class,'phrase-text')]"
                                          "/text()")] == ["按此办理。", "已阅。", "同意。"]
    first_up = page.xpath("//li[contains(@class,'phrase-row')][1]//input[@value='up']/following-sibling::button")[0]
    assert first_up.get("disabled") is not None and first_up.get("aria-label") == "上移“按此办理。”"

    response = client.post(f"/flows/phrases/{first.pk}/remove/")
    assert response.status_code == 302
    assert phrase_texts(zhangwei) == ["按此办理。", "已阅。"]
    assert client.get(f"/flows/phrases/{first.pk}/remove/").status_code == 405  # removal is a POST


def test_someone_elses_phrase_is_404_and_untouched(cast):
    theirs = check_add_phrase(person=cast.lina, text="同意，请办公室核稿。")
    check_add_phrase(person=cast.lina, text="请修改后再报。")
    client = login(cast.zhangwei)
    assert client.post(f"/flows/phrases/{theirs.pk}/remove/").status_code == 404
    assert client.post(f"/flows/phrases/{theirs.pk}/move/", {"direction": "down"}).status_code == 404
    assert client.post("/flows/phrases/999999/remove/").status_code == 404
    assert phrase_texts(cast.lina) == ["同意，请办公室核稿。", "请修改后再报。"]
    page = client.get("/flows/phrases/").content.decode()
    assert "同意，请办公室核稿。" not in page


def test_phrase_pages_need_login():
    client = Client()
    response = client.get("/flows/phrases/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = client.get("/flows/phrases.json?step=签发")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_phrases_json_gives_defaults_then_personal_phrases(cast):
    client = login(cast.wangfang, otp=True)
    data = client.get("/flows/phrases.json", {"step": "签发"}).json()
    assert data == {"step": "签发", "personal": False,
                    "phrases": [{"id": None, "text": t, "use_count": 0} for t in DEFAULT_PHRASES["签发"]]}

    mine = check_add_phrase(person=cast.wangfang, text="同意，请按程序办理。")
    do_record_opinion(actor=cast.wangfang, process=start_memo(cast), step="签发", kind="agree",
                      text="同意，请按程序办理。")
    data = client.get("/flows/phrases.json", {"step": "签发"}).json()
    assert data == {"step": "签发", "personal": True,
                    "phrases": [{"id": mine.pk, "text": "同意，请按程序办理。", "use_count": 1}]}
    assert client.post("/flows/phrases.json").status_code == 405


# --- The opinion box partial -------------------------------------------------------------------------------------


class StepForm(forms.Form):
    opinion = opinion_form_field("签发意见", help_text="请签署意见；圈阅视为同意。")


def test_opinion_partial_renders_label_counter_and_phrase_buttons(cast):
    form = StepForm(data={"opinion": "同意"})
    form.is_valid()
    form.add_error("opinion", "请填写签发意见；如仅表示同意，可选择“圈阅”（圈阅视为同意）。")
    rendered = render_to_string("workflows/_opinion_field.html", {
        "field": form["opinion"], "phrases": phrases_for(cast.wangfang, "签发"),
        "phrases_url": "/flows/phrases.json?step=签发",
    })
    doc = lxml_html.fromstring(f"<div>{rendered}</div>")

    textarea = doc.xpath("//textarea")[0]
    assert textarea.get("id") == "id_opinion" and textarea.get("maxlength") == str(OPINION_MAX)
    assert doc.xpath("//label[@for='id_opinion']/text()") == ["签发意见"]
    counter = doc.xpath("//*[@data-opinion-counter]")[0]
    assert counter.get("aria-live") == "polite" and counter.get("data-max") == "2000"
    assert " ".join(counter.text_content().split()) == "已输入 2 / 2000 字"
    assert doc.xpath("//ul[@class='field-errors']/li")[0].text_content().startswith("!请填写签发意见")
    buttons = doc.xpath("//button[@data-phrase]")
    assert [b.get("data-phrase") for b in buttons] == list(DEFAULT_PHRASES["签发"])
    assert all(b.get("type") == "button" and b.get("aria-controls") == "id_opinion" for b in buttons)
    group = doc.xpath("//*[@role='group']")[0]
    assert doc.xpath(f"//*[@id='{group.get('aria-labelledby')}']")[0].text.startswith("常用语")
    assert doc.xpath("//a[@href='/flows/phrases/']/text()") == ["管理常用语"]
    assert doc.xpath("//*[@data-opinion-field]/@data-phrases-url") == ["/flows/phrases.json?step=签发"]
    scripts = doc.xpath("//script")
    assert [s.get("src") for s in scripts] == ["/static/workflows/opinion.js"] and not scripts[0].text


def test_opinion_script_and_styles_are_local_files():
    from django.contrib.staticfiles import finders

    for name in ("workflows/opinion.js", "workflows/opinion.css"):
        path = finders.find(name)
        assert path, name
        text = open(path, encoding="utf-8").read()
        assert "http://" not in text and "https://" not in text
    script = open(finders.find("workflows/opinion.js"), encoding="utf-8").read()
    assert "data-phrase" in script and "data-opinion-count" in script


def test_phrase_json_escapes_nothing_dangerous(cast):
    check_add_phrase(person=cast.zhangwei, text="<b>同意</b>")
    client = login(cast.zhangwei)
    body = json.loads(client.get("/flows/phrases.json").content)
    assert body["phrases"][0]["text"] == "<b>同意</b>"  # data as typed; the widget sets textContent
    page = client.get("/flows/phrases/").content.decode()
    assert "<b>同意</b>" not in page and "&lt;b&gt;同意&lt;/b&gt;" in page
