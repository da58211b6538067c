"""Page sweep (issue 12 point 4): every page of the demo, as every role, on a phone (390×844) and a desktop (1440×900).

The demo district gets one 发文 at each step (草稿 … 会签 … 用印 … 已归档), one 收文 of 区政府 at each step (签收 … 办结 …
已归档), a 传阅 with open and read rows and a 分发; then, for each member of the cast and each viewport, one browser
context signs in (2FA passed where the role needs it) and crawls every same-origin link reachable from the home page
(breadth first, the nav included), one URL per pattern (digits → N), skipping logout, file downloads and anything
that is not a page. It fails on:

- any response ≥ 400, subresources included (CSS, JS, images, the page's own XHR);
- horizontal overflow at 390 px (document.documentElement.scrollWidth > clientWidth);
- any visible Latin word ([A-Za-z]{2,}) outside ALLOWED — text inside <code>/<kbd>/<samp>/<pre> and elements marked
  translate="no" (user names, e-mail addresses, file names: user data, not interface) does not count, nor does text
  the user cannot see (closed <details>, hidden elements) or form values.

Every page is saved as test-results/sweep/<role>-<width>-<slug>.png for a human to look at, and every problem is
written to test-results/sweep/problems.txt before the test fails with the list.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from documents.actions.body import check_save_body
from documents.actions.documents import do_create_document
from documents.models import OfficialDocument
from oa.models import Agency, Department, Person
from tests.clients import login
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, in_thread
from tests.issued import BODY, ensure_office_seal, issue_to
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_perform_issuance_step,
    check_start_issuance,
)
from workflows.actions.receipt import StepInput as ReceiptInput
from workflows.actions.receipt import check_perform_receipt_step
from workflows.issuance.flows import IssuanceFlow
from workflows.models import DistributionRecipient
from workflows.receipt.flows import ReceiptFlow

pytestmark = pytest.mark.e2e

SWEEP = RESULTS / "sweep"
VIEWPORTS = {390: {"width": 390, "height": 844}, 1440: {"width": 1440, "height": 900}}
# The cast (docs/demo.md): drafter, reviewer, two signers, 文书, 印章管理员, the three administrators (系统, 安全,
# 审计: 三员分立), a 镇街 科长 (four roles there).
ROLES = ["zhangwei", "lina", "wangfang", "huangjianhua", "liuyang", "zhoumin", "sunhao", "qianjing", "yanghui",
         "quxi03"]
MAX_PAGES = 90  # per role and viewport: more than the distinct page patterns one role can reach
# One URL per pattern, except where the same pattern renders different pages: each 发文/收文 step has its own form,
# and a 公文, 收文 or flow trace looks different at each step.
PER_PATTERN = [
    (re.compile(r"^/(work|flows/(issuance|receipt)/tasks)/N/$"), 12),
    (re.compile(r"^/(documents|flows/incoming|flows/processes)/N/$"), 4),
]

# Latin words the interface may show, each a name people use as it is written:
ALLOWED = {
    "PDF", "DOCX", "OFD", "ZIP", "PNG", "JPEG", "CSV", "ICS", "XLSX",  # file formats named on buttons and in help text
    "GB", "SM",  # standard and algorithm names: GB/T 9704-2012, SM2/SM3
    "ID", "API", "URL", "IP", "OA",  # 公文标识 ID, 接口 API, 链接 URL, 登录 IP, the product's own name
    "TOTP",  # the 2FA method named where it is set up (验证器应用 shows it)
    "SHA",  # SHA-256: the checksum people compare with other tools, named like SM3
    "MB", "KB",  # size units in upload limits (文件不超过 20 MB), as every Chinese app writes them
    "Excel",  # 导出 Excel: the program people open the export with, named as every Chinese office names it
    "UTF",  # UTF-8: the encoding to pick when saving a CSV for import, as the save dialog writes it
    "OIDC", "OpenID", "Connect", "CAS",  # the single-sign-on protocols as the provincial platform's papers name them
}
LATIN = re.compile(r"[A-Za-z]{2,}")
SKIP_PATH = re.compile(
    r"(/logout/|\.(pdf|docx|ofd|zip|csv|ics|png|jpg|xlsx|json|svg)$|/download/?$|/export|/api/|/ws/|/healthz"
    r"|/static/|/media/)"
)

# Visible text outside code and translate="no", as the user sees it (one string per text node).
VISIBLE_TEXT_JS = """() => {
  const skip = 'script,style,noscript,template,code,kbd,samp,pre,[translate="no"],svg title,svg desc';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || !n.data.trim() || el.closest(skip)) continue;
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) continue;
    out.push(n.data.trim());
  }
  for (const el of document.querySelectorAll('input[placeholder],textarea[placeholder]')) {
    if (el.checkVisibility() && !el.closest(skip)) out.push(el.placeholder);
  }
  return out;
}"""

LINKS_JS = """() => Array.from(document.querySelectorAll('a[href]'))
  .filter(a => !a.hasAttribute('download') && !a.closest('[data-sweep-skip]'))
  .map(a => a.href)"""


# --- the demo state ---------------------------------------------------------------------------------------------


def _issuance_step(user: Person, process: Process, node, decision: str = "agree", opinion: str = "同意。",
                   **kw) -> None:
    task = Task.objects.get(process=process, flow_task=node, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
    assert task.owner_id == user.pk, (node, task.owner)
    check_perform_issuance_step(user, task, StepInput(decision=decision, opinion=opinion, otp_verified=True, **kw))


def _draft(title: str, by: str = "zhangwei", dept: str = "秘书科") -> OfficialDocument:
    office = Agency.objects.get(doc_code="揭东府办")
    author = Person.objects.get(username=by)
    doc = do_create_document(actor=author, agency=office, department=Department.objects.get(agency=office, name=dept),
                             title=title, doc_type="tongzhi", main_recipients=["区直各单位"])
    check_save_body(author, doc, BODY, if_match=None)
    return doc


ISSUANCE_PATH = [  # (node, who, decision, extra input)
    ("dept_review", "lina", "agree", {}),
    ("office_check", "lina", "agree", {}),
    ("countersign", "xuli", "agree", {}),
    ("signoff", "lina", "agree", {}),  # 王芳 has delegated 发文 to 李娜 (docs/demo.md)
    ("recheck", "lina", "agree", {}),
    ("register", "liuyang", "done", {}),
    ("typeset", "liuyang", "done", {}),
    ("seal", "zhoumin", "done", {}),
    ("distribute", "liuyang", "done", {"recipients": "finance"}),
    ("archive", "liuyang", "done", {"retention": "10y"}),
]


def _issuance_at(stop: str | None, n: int) -> None:
    """A 通知 sent into 发文 (with 会签 by 综合科) and taken up to, not through, the step `stop` (None: archived)."""
    doc = _draft(f"关于做好第{n}批重点工作的通知")
    zonghe = Department.objects.get(agency__doc_code="揭东府办", name="综合科")
    process = check_start_issuance(doc.created_by, doc, StartOptions(countersign_department_ids=[zonghe.pk]))
    people = {p.username: p for p in Person.objects.filter(username__in=["lina", "xuli", "liuyang", "zhoumin"])}
    finance = Agency.objects.get(doc_code="揭东财")
    for node, who, decision, extra in ISSUANCE_PATH:
        if node == stop:
            return
        kw = dict(extra)
        if kw.get("recipients") == "finance":
            kw["recipients"] = [(finance.pk, "main")]
        _issuance_step(people[who], process, getattr(IssuanceFlow, node), decision,
                       opinion="同意。" if decision == "agree" else "", **kw)


RECEIPT_PATH = [  # (node, who, input)
    ("sign", "liuyang", {"decision": "sign"}),
    ("register", "liuyang", {"decision": "register"}),
    ("review", "lina", {"decision": "accept", "opinion": "请区长阅示。"}),
    ("propose", "lina", {"decision": "propose", "opinion": "拟请陈区长阅示。", "leader_id": "chenzhiqiang"}),
    ("instruct", "chenzhiqiang", {"decision": "instruct", "opinion": "请综合科办理。", "host_department_id": "综合科",
                                  "limit_days": 3, "reader_ids": ["zhangwei", "wangfang"]}),
    ("handle", "xuli", {"decision": "done", "opinion": "已办理。"}),
    ("circulate", "lina", {"decision": "circulate", "reader_ids": ["zhangwei", "wangfang", "huangjianhua"],
                           "note": "请阅知"}),
    ("close", "xuli", {"decision": "close", "result": "已按批示办理完毕。"}),
    ("archive", "liuyang", {"decision": "archive"}),
]


def _receipt_input(raw: dict, incoming) -> ReceiptInput:
    values = dict(raw)
    if "leader_id" in values:
        values["leader_id"] = Person.objects.get(username=values["leader_id"]).pk
    if "host_department_id" in values:
        values["host_department_id"] = Department.objects.get(agency__doc_code="揭东府办",
                                                              name=values["host_department_id"]).pk
    if "reader_ids" in values:
        values["reader_ids"] = list(Person.objects.filter(username__in=values["reader_ids"]).values_list("pk",
                                                                                                       flat=True))
    if values["decision"] == "register":
        values["fields"] = {"title": incoming.title, "doc_number": incoming.doc_number,
                            "sender_name": incoming.sender_name, "secrecy": incoming.secrecy,
                            "urgency": incoming.urgency, "signed_date": incoming.signed_date,
                            "main_recipients": incoming.main_recipients, "copies": incoming.copies or 1,
                            "attachment_note": incoming.attachment_note}
    return ReceiptInput(**values)


def _receipt_at(stop: str | None, n: int) -> None:
    """A 函 to 区政府 (handled by 区府办: docs/receipt.md), taken up to the step `stop` (None: archived)."""
    government = Agency.objects.get(doc_code="揭东府")
    doc, _ = issue_to([government], title=f"关于报送第{n}季度工作情况的报告")
    incoming = DistributionRecipient.objects.get(document=doc, agency=government).incoming
    process = Process.objects.get(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)
    for node, who, raw in RECEIPT_PATH:
        if node == stop:
            return
        task = Task.objects.get(process=process, flow_task=getattr(ReceiptFlow, node),
                                status__in=[STATUS.ASSIGNED, STATUS.STARTED])
        user = Person.objects.get(username=who)
        assert task.owner_id == user.pk, (node, task.owner)
        incoming.refresh_from_db()
        check_perform_receipt_step(user, task, _receipt_input(raw, incoming))


def build_sweep_state() -> None:
    call_command("load_demo", "--with-seals", verbosity=0)
    ensure_office_seal()
    _draft("关于开展办公用房清查的通知（草稿）")
    for n, (node, *_rest) in enumerate(ISSUANCE_PATH, start=1):
        _issuance_at(node, n)
    _issuance_at(None, len(ISSUANCE_PATH) + 1)
    for n, (node, *_rest) in enumerate(RECEIPT_PATH[:7], start=1):  # up to 传阅 (the 办结 and 归档 steps below)
        _receipt_at(node, n)
    _receipt_at("archive", 8)  # 传阅 sent, one reader has read it, 办结 done
    _receipt_at(None, 9)
    # 曲溪街道 receives a 函 too: its 科长 (文书, 核稿人) has a 签收 to do
    issue_to([Agency.objects.get(doc_code="曲溪街")], title="关于做好防汛物资储备的函")


# --- the crawl --------------------------------------------------------------------------------------------------


def pattern(url: str) -> str:
    """One URL per page kind: ids become N, query values are dropped (their keys kept)."""
    parts = urlsplit(url)
    keys = sorted({kv.split("=", 1)[0] for kv in parts.query.split("&") if kv})
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(keys) if keys else "")


def slug(url: str) -> str:
    parts = urlsplit(url)
    text = re.sub(r"[^A-Za-z0-9]+", "-", f"{parts.path}{'-' + parts.query if parts.query else ''}").strip("-")
    return (text or "home")[:90]


def allowance(key: str) -> int:
    return next((n for rx, n in PER_PATTERN if rx.match(key)), 1)


def latin_words(texts: list[str]) -> set[str]:
    return {w for t in texts for w in LATIN.findall(t) if w not in ALLOWED}


def _crawl(page, base: str, role: str, width: int, problems: list[str]) -> int:
    statuses: list[str] = []
    page.on("response", lambda r: r.status >= 400 and statuses.append(f"{r.status} {r.url}"))
    seen: dict[str, int] = {}
    urls: set[str] = set()
    queue = deque([f"{base}/"])
    visited = 0
    while queue and visited < MAX_PAGES:
        url = queue.popleft()
        key = pattern(url)
        if url in urls or seen.get(key, 0) >= allowance(key):
            continue
        urls.add(url)
        seen[key] = seen.get(key, 0) + 1
        statuses.clear()
        try:
            response = page.goto(url, wait_until="load")
        except Exception as exc:  # a download or a navigation error: say so, move on
            if "Download is starting" not in str(exc):
                problems.append(f"{role} {width} {url}: 打不开：{exc}")
            continue
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        visited += 1
        page.wait_for_timeout(50)
        where = f"{role} {width} {urlsplit(page.url).path}"
        for s in statuses:
            problems.append(f"{where}: HTTP {s}")
        if width <= 390:
            sw, cw = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            if sw > cw:
                problems.append(f"{where}: 横向溢出 {sw}px > {cw}px")
        words = latin_words(page.evaluate(VISIBLE_TEXT_JS))
        if words:
            problems.append(f"{where}: 英文 {sorted(words)}")
        page.screenshot(path=str(SWEEP / f"{role}-{width}-{slug(page.url)}.png"), full_page=True)
        if urlsplit(page.url).netloc != urlsplit(base).netloc:
            continue
        for href in page.evaluate(LINKS_JS):
            href = urldefrag(href)[0]
            key = pattern(href)
            if (href.startswith(base) and not SKIP_PATH.search(urlsplit(href).path) and href not in urls
                    and seen.get(key, 0) < allowance(key)):
                queue.append(href)
    return visited


def _sweep(base: str, sessions: dict[str, str]) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    counts: list[str] = []
    host = urlsplit(base).hostname
    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for role, session in sessions.items():
                for width, viewport in VIEWPORTS.items():
                    context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1,
                                                  accept_downloads=False)
                    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "domain": host,
                                          "path": "/"}])
                    page = context.new_page()
                    counts.append(f"{role} {width}: {_crawl(page, base, role, width, problems)} 页")
                    context.close()
        finally:
            browser.close()
    (SWEEP / "problems.txt").write_text("\n".join([*counts, "", *problems]) + "\n", encoding="utf-8")
    return problems


def test_every_page_for_every_role_on_phone_and_desktop(asgi_server):
    build_sweep_state()
    SWEEP.mkdir(parents=True, exist_ok=True)
    for old in SWEEP.glob("*.png"):
        old.unlink()
    sessions = {}
    for role in ROLES:
        client = login(Person.objects.get(username=role), otp=True)  # 2FA passed: signers and keepers see all
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    problems = []
    in_thread(lambda: problems.extend(_sweep(asgi_server, sessions)), timeout=900)
    assert problems == [], "\n".join(problems)


def test_the_latin_word_filter_and_url_patterns():
    assert latin_words(["公文 PDF 下载", "GB/T 9704-2012", "SM2 签名", "ID：12"]) == set()
    assert latin_words(["Dept Review Timeout", "['综合科']", "<Task> - DONE"]) == {"Dept", "Review", "Timeout",
                                                                                  "Task", "DONE"}
    assert pattern("http://x/flows/processes/12/?page=3&q=a") == "/flows/processes/N/?page&q"
    assert allowance("/flows/issuance/tasks/N/") == 12 and allowance("/directory/people/N/") == 1
    assert slug("http://x/") == "home" and Path(slug("http://x/flows/processes/12/")).name == "flows-processes-12"
