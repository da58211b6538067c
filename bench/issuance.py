"""发文 (IssuanceFlow) end to end: server time per document and per task completion, SQL per completion.

    python bench/issuance.py                   # 100 documents; PostgreSQL on 127.0.0.1:5432 (trust)
    python bench/issuance.py --documents 20    # a quicker run (python: the project's venv)

What it does, in one run:
1. creates a throwaway database `bench_issuance_<pid>` (BENCH_PG, default postgresql://postgres@127.0.0.1:5432),
   migrates it, loads the demo district, initialises the seal authority and makes 区府办's 公章;
2. adds 10 departments with a head (科长, 部门负责人) each under 区府办 (the 会签 departments) and 20 receiving
   agencies next to the 10 demo agencies (the 30 分发 targets);
3. runs one warm-up document (imports, fonts, first render; not counted), then --documents documents through
   the whole chain as the demo cast: 拟稿 (create + 正文) → 送审 with the 10 会签 departments (parallel, all must
   agree) → 部门负责人审核 → 办公室核稿 → 10 × 会签 → 签发 (李娜 代 王芳, 2FA assumed) → 复核 → 登记 → 套红排版
   → 用印 → 分发 to 30 agencies → 归档, checking at the end of each that the process is done, the document is
   archived and 30 distribution rows and 30 started 收文 flows exist. 分发 writes the receivers' 收文 (送达中) and
   an outbox job; the flows are started by that job after commit (a Celery worker in production): the bench runs
   the job itself right after 分发 (OA_OUTBOX_KICK=0) and times it apart, and reports 分发 alone and 分发 + job
   ("until all 30 flows are started", no goal) so the figure for 分发 alone fools nobody;
4. times every action call with time.perf_counter() and counts its SQL with CaptureQueriesContext, and measures
   the baseline in the same run: a plain viewflow Task save (get + save() in one transaction, with the inbox
   mirror's post_save receiver that every Task save runs);
5. prints per-step medians, the per-completion figures for all completions and for routing-only completions
   (excluding 套红排版 / 用印 / 归档, which render and sign real files), the per-document figures, and the
   target check "≤ 100 ms per completion"; then drops the database and removes its data directory.

"Server time" here is the time inside the action functions a view calls (checks, business writes, flow move,
audit, inbox mirror, events, files): no HTTP, no session/2FA middleware, no template rendering. Looking up the
open task for a step (a selector the step page runs) is outside the measured call.

Environment: BENCH_PG (server URL), BENCH_REDIS (e.g. redis://127.0.0.1:6379/2: cache + channel layer on Redis as
in production; default empty = embedded mode, in-process channel layer). OA_SECRET_KEY / OA_SEAL_KEK are set to
bench-only values unless given.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
# This script's directory comes first on sys.path and holds files named like the apps (bench/supervision.py beats
# the supervision package): the project root first, the script's directory not at all.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB_NAME = f"bench_issuance_{os.getpid()}"
DATA_DIR = ROOT / "var" / f"bench-issuance-{os.getpid()}"
REDIS = os.environ.get("BENCH_REDIS", "")
TARGET_MS = 100.0
BASELINE_SAVES = 300

COUNTERSIGN_DEPTS = ["法制科", "财务科", "人事科", "信息科", "调研科", "应急办", "信访科", "保密科", "文电科", "行政科"]
HEAD_NAMES = ["林海", "陈静", "黄伟", "郑丽", "吴刚", "王敏", "李强", "张慧", "刘军", "杨洁"]
EXTRA_AGENCIES = 20
# Steps that render or sign real files (DOCX/PDF, PAdES seal, archive package): reported apart.
FILE_STEPS = {"typeset", "seal", "archive"}
STEP_ORDER = ["dept_review", "office_check", "countersign", "signoff", "recheck", "register", "typeset", "seal",
              "distribute", "archive"]
STEP_LABELS = {"dept_review": "部门负责人审核", "office_check": "办公室核稿", "countersign": "会签",
               "signoff": "签发", "recheck": "复核", "register": "登记", "typeset": "套红排版", "seal": "用印",
               "distribute": "分发", "archive": "归档"}

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "oa.settings",
        "OA_DATABASE_URL": f"{PG}/{DB_NAME}",
        "OA_HTTPS": "0",
        "OA_DEBUG": "0",
        "OA_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "OA_LOG_LEVEL": "WARNING",
        "OA_DATA_DIR": str(DATA_DIR),
        "OA_REDIS_URL": REDIS,
        # 分发 hands the receivers' flow starts to an outbox job (workflows.actions.receipt_start). In production a
        # Celery worker runs it; without a kick the bench runs it itself right after 分发 and times it apart.
        "OA_OUTBOX_KICK": "0",
    }
)
os.environ.setdefault("OA_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
# The machine has the free stand-in fonts only; 用印 refuses them unless the agency accepts them (docs/fonts).
os.environ.setdefault("OA_ACCEPT_STANDIN_FONTS", "1")
os.environ.setdefault("OA_SEAL_KEK", "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=")

BODY = {"blocks": [
    {"type": "p", "level": 0, "text": "为做好全区冬季安全生产工作，现将有关事项通知如下。"},
    {"type": "p", "level": 1, "text": "压实责任"},
    {"type": "p", "level": 0, "text": "各单位要严格落实安全生产责任制，主要负责人亲自部署，分管负责人具体抓落实。"},
    {"type": "p", "level": 1, "text": "排查隐患"},
    {"type": "p", "level": 0, "text": "各单位要对本辖区、本行业领域开展一次全面排查，建立隐患清单，逐项整改销号。"},
]}


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@dataclass
class Sample:
    ms: float
    queries: int
    sql: list[str] = field(default_factory=list, repr=False)  # kept for the last document only


@dataclass
class Results:
    steps: dict[str, list[Sample]] = field(default_factory=lambda: defaultdict(list))
    draft: list[Sample] = field(default_factory=list)  # create + 正文
    start: list[Sample] = field(default_factory=list)  # 送审
    per_document: list[float] = field(default_factory=list)  # whole chain, ms
    per_document_routing: list[float] = field(default_factory=list)  # whole chain minus file steps, ms
    precheck: list[Sample] = field(default_factory=list)  # 核稿's GB/T 9704 pre-check alone (DOCX render)
    last_sql: dict[str, list[str]] = field(default_factory=dict)  # step → SQL of one completion, last document
    receipt_job: list[Sample] = field(default_factory=list)  # after 分发: the job starting the 30 收文 flows
    until_started: list[float] = field(default_factory=list)  # 分发 + that job: until every receiver can 签收, ms


def timed(fn, *args, **kwargs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # CaptureQueriesContext counts by position in a 9000-entry deque: once full, every count would read 0.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        ms = (time.perf_counter() - started) * 1000
    return result, Sample(ms, len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries])


def create_unmigrated_tables() -> list[str]:
    """Models whose migration has not been written yet get their table straight from the model, so the bench
    runs on a development tree; with every migration present this does nothing."""
    from django.apps import apps
    from django.db import connection

    existing = set(connection.introspection.table_names())
    missing = [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy
               and m._meta.db_table not in existing]
    with connection.schema_editor() as editor:
        for model in missing:
            editor.create_model(model)
    return [m._meta.label for m in missing]


def setup_district() -> dict:
    """The demo district plus 10 会签 departments with heads under 区府办 and 20 more receiving agencies."""
    from django.core.management import call_command
    from django.db import transaction

    from documents.actions.seals import check_create_seal, do_init_seal_authority
    from oa.actions.directory import check_assign_role, check_upsert_agency, do_appoint, do_upsert_department
    from oa.models import Agency, Person, Post, Role
    from oa.uscc import make_uscc

    call_command("migrate", verbosity=0)
    missing = create_unmigrated_tables()
    if missing:
        print(f"note: no migration yet for {', '.join(missing)}: table created from the model (as --nomigrations)")
    call_command("load_demo", verbosity=0, stdout=io.StringIO())
    office = Agency.objects.get(doc_code="揭东府办")
    gov = Agency.objects.get(doc_code="揭东府")
    sunhao = Person.objects.get(username="sunhao")
    with transaction.atomic():
        do_init_seal_authority(actor=None, name="揭东区电子印章制章者")
        check_create_seal(sunhao, agency=office)
        chief = Post.objects.get(name="科长")
        dept_ids = []
        for i, (dept_name, head_name) in enumerate(zip(COUNTERSIGN_DEPTS, HEAD_NAMES, strict=True)):
            dept = do_upsert_department(agency=office, name=dept_name, sort_order=100 + i * 10)
            head = Person.objects.create(username=f"bench_head{i:02d}", name=head_name)
            do_appoint(person=head, department=dept, post=chief, primary=True)
            check_assign_role(actor=None, person=head, role=Role.DEPT_HEAD, agency=office, department=dept)
            dept_ids.append(dept.pk)
        clerk_post = Post.objects.get(name="文书")
        for i in range(EXTRA_AGENCIES):
            agency = check_upsert_agency(
                actor=None, name=f"揭阳市揭东区测试接收单位{i + 1:02d}", short_name=f"接收单位{i + 1:02d}",
                doc_code=f"揭东测{i + 1:02d}", uscc=make_uscc(f"114452039B{i:07d}"), kind=Agency.Kind.BUREAU,
                parent=gov, sort_order=500 + i,
            )
            # A 收文 lands on the agency's 办公室文书: without one, 分发 refuses (no_assignee).
            office_dept = do_upsert_department(agency=agency, name="办公室", sort_order=10)
            clerk = Person.objects.create(username=f"bench_clerk{i:02d}", name=f"文书{i + 1:02d}")
            do_appoint(person=clerk, department=office_dept, post=clerk_post, primary=True)
            check_assign_role(actor=None, person=clerk, role=Role.CLERK, agency=agency)
    targets = list(Agency.objects.exclude(pk=office.pk).order_by("sort_order", "pk").values_list("pk", flat=True))
    assert len(targets) == 10 + EXTRA_AGENCIES, len(targets)
    # 主送 the first ten, 抄送 the rest.
    recipients = [(pk, "main" if i < 10 else "cc") for i, pk in enumerate(targets)]
    return {"dept_ids": dept_ids, "recipients": recipients}


def run_document(n: int, setup: dict, results: Results | None) -> None:
    """One document through the whole chain; results=None for the warm-up run."""
    from viewflow.workflow.models import Process, Task
    from viewflow.workflow.status import PROCESS, STATUS

    from documents.actions.body import check_save_body
    from documents.actions.documents import do_create_document
    from documents.models import IncomingDocument, OfficialDocument
    from oa.models import Agency, Department, Person
    from workflows.actions.issuance import (
        StartOptions,
        StepInput,
        check_perform_issuance_step,
        check_start_issuance,
    )
    from workflows.actions.receipt_start import do_start_due_receipts
    from workflows.issuance.flows import IssuanceFlow
    from workflows.models import DistributionRecipient
    from workflows.receipt.flows import ReceiptFlow
    from workflows.selectors.issuance import preview_check

    people = {p.username: p for p in Person.objects.filter(username__in=["zhangwei", "lina", "liuyang", "zhoumin"])}
    office = Agency.objects.get(doc_code="揭东府办")
    secretariat = Department.objects.get(agency=office, name="秘书科")

    def draft() -> OfficialDocument:
        doc = do_create_document(actor=people["zhangwei"], agency=office, department=secretariat,
                                 title=f"关于做好第{n}批冬季安全生产工作的通知",
                                 main_recipients=["各镇人民政府", "各街道办事处", "区直各单位"])
        check_save_body(people["zhangwei"], doc, BODY, if_match=None)
        return doc

    doc, s_draft = timed(draft)
    options = StartOptions(countersign_department_ids=setup["dept_ids"])
    process, s_start = timed(check_start_issuance, people["zhangwei"], doc, options)
    samples: list[tuple[str, Sample]] = []

    def step(node, user=None, **kw) -> None:
        tasks = Task.objects.filter(process=process, flow_task=node, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
        task = tasks.get(owner=user) if user is not None else tasks.get()
        data = StepInput(otp_verified=True, **{"decision": "agree", "opinion": "同意。", **kw})
        _, sample = timed(check_perform_issuance_step, task.owner, task, data)
        samples.append((node.name, sample))

    flow = IssuanceFlow
    step(flow.dept_review)
    step(flow.office_check, opinion="核稿通过，格式符合要求。")
    # What part of 核稿 is its DOCX render + checker (read-only, so it can be timed again on its own).
    _, s_precheck = timed(preview_check, doc)
    heads = list(Task.objects.filter(process=process, flow_task=flow.countersign).select_related("owner"))
    assert len(heads) == len(setup["dept_ids"]), len(heads)
    for task in heads:
        step(flow.countersign, task.owner)
    signoff = Task.objects.get(process=process, flow_task=flow.signoff)
    assert signoff.owner.username == "lina" and signoff.data["routing"]["on_behalf_of"], "签发 not delegated"
    step(flow.signoff, opinion="同意印发。")
    step(flow.recheck, opinion="复核无误。")
    step(flow.register, decision="done", opinion="")
    step(flow.typeset, decision="done", opinion="")
    step(flow.seal, decision="done", opinion="")
    step(flow.distribute, decision="done", opinion="", recipients=setup["recipients"])
    # What a worker does after 分发 commits: start the receivers' 收文 flows (all batches, one after another).
    _, s_job = timed(do_start_due_receipts)
    waiting = IncomingDocument.objects.filter(document=doc).exclude(status=IncomingDocument.Status.PENDING)
    assert not waiting.exists(), list(waiting.values_list("status", flat=True))
    step(flow.archive, decision="done", opinion="", retention="30y")

    process.refresh_from_db()
    doc.refresh_from_db()
    assert process.status == PROCESS.DONE, process.status
    assert doc.status == OfficialDocument.Status.ARCHIVED and doc.doc_number, doc.status
    assert DistributionRecipient.objects.filter(document=doc).count() == len(setup["recipients"])
    incoming_ids = [str(pk) for pk in IncomingDocument.objects.filter(document=doc).values_list("pk", flat=True)]
    assert len(incoming_ids) == len(setup["recipients"])
    assert Process.objects.filter(flow_class=ReceiptFlow, data__incoming_id__in=[int(i) for i in incoming_ids]
                                  ).count() == len(setup["recipients"])
    if results is None:
        return
    results.last_sql["receipt_job"] = s_job.sql
    s_job.sql = []
    results.receipt_job.append(s_job)
    results.until_started.append(next(s.ms for name, s in samples if name == "distribute") + s_job.ms)
    results.precheck.append(s_precheck)
    for name, sample in samples:
        results.last_sql[name] = sample.sql  # one per step name: the last completion of that step
        sample.sql = []
    s_draft.sql = s_start.sql = s_precheck.sql = []
    results.draft.append(s_draft)
    results.start.append(s_start)
    for name, sample in samples:
        results.steps[name].append(sample)
    total = s_draft.ms + s_start.ms + sum(s.ms for _, s in samples)
    results.per_document.append(total)
    results.per_document_routing.append(total - sum(s.ms for name, s in samples if name in FILE_STEPS))


def baseline_task_saves() -> list[Sample]:
    """A plain viewflow Task save: fetch one finished task and save() it in a transaction (post_save runs the
    inbox mirror, as on every Task save). The floor a single task state change cannot go below."""
    from django.db import transaction
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    ids = list(Task.objects.filter(status=STATUS.DONE, flow_task_type="HUMAN").order_by("pk")
               .values_list("pk", flat=True)[:BASELINE_SAVES])

    def save(pk: int) -> None:
        with transaction.atomic():
            Task.objects.get(pk=pk).save()

    for pk in ids[:20]:  # warm
        save(pk)
    return [timed(save, pk)[1] for pk in ids]


def sql_summary(queries: list[str]) -> str:
    """Queries grouped by statement kind and first table, most frequent first: where a completion's SQL goes."""
    counts: dict[str, int] = defaultdict(int)
    for sql in queries:
        text = " ".join(sql.split())
        verb = text.split(" ", 1)[0].upper()
        match = re.search(r'(?:FROM|INTO|UPDATE) "?([\w.]+)"?', text, re.IGNORECASE)
        if verb in ("BEGIN", "COMMIT"):
            key = verb
        elif verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
            key = "SAVEPOINT/RELEASE"
        elif "pg_advisory" in text:
            key = "SELECT pg_advisory_xact_lock"
        else:
            key = f"{verb} {match.group(1) if match else '?'}"
        counts[key] += 1
    return ", ".join(f"{k} ×{n}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def per_table(queries: list[str]) -> str:
    """Statements per table (every verb together), most first; transaction control apart."""
    counts: dict[str, int] = defaultdict(int)
    for sql in queries:
        text = " ".join(sql.split())
        verb = text.split(" ", 1)[0].upper()
        match = re.search(r'(?:FROM|INTO|UPDATE) "?([\w.]+)"?', text, re.IGNORECASE)
        if verb in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"):
            key = "(transaction control)"
        elif "pg_advisory" in text:
            key = "(advisory lock)"
        else:
            key = match.group(1) if match else "?"
        counts[key] += 1
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def bench_result(measure: str, ours: float, baseline: float, unit: str, goal_ratio: float | None) -> None:
    """One machine-readable line per measure (COMMON.md: make bench collects them). goal_ratio None: reported
    for honesty, no goal (met is null)."""
    import json

    ratio = ours / baseline
    goal = f"≤ {goal_ratio:g}×" if goal_ratio is not None else "—"
    met = ratio <= goal_ratio if goal_ratio is not None else None
    print("BENCH_RESULT " + json.dumps({"measure": measure, "ours": round(ours, 2), "baseline": round(baseline, 2),
                                        "unit": unit, "ratio": round(ratio, 2), "goal": goal, "met": met},
                                       ensure_ascii=False))


def med(samples: list[Sample]) -> float:
    return statistics.median(s.ms for s in samples)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def row(label: str, samples: list[Sample], baseline_ms: float) -> str:
    ms = [s.ms for s in samples]
    q = [s.queries for s in samples]
    return (f"  {label:<22}{len(samples):>6} {statistics.median(ms):>9.1f} {pct(ms, 90):>9.1f} {max(ms):>9.1f}"
            f" {statistics.median(q):>7.0f} {max(q):>6} {statistics.median(ms) / baseline_ms:>8.1f}")


def report(results: Results, baseline: list[Sample], documents: int, elapsed: float) -> None:
    from django.conf import settings
    from django.db import connection

    base_ms = med(baseline)
    base_q = statistics.median(s.queries for s in baseline)
    all_completions = [s for samples in results.steps.values() for s in samples]
    routing = [s for name, samples in results.steps.items() if name not in FILE_STEPS for s in samples]
    files = [s for name, samples in results.steps.items() if name in FILE_STEPS for s in samples]
    mode = f"Redis {settings.REDIS_URL}" if settings.REDIS_URL else "embedded (no Redis: in-process channel layer)"
    print()
    print(f"发文 benchmark: {documents} documents (+1 warm-up not counted), {len(COUNTERSIGN_DEPTS)} 会签 departments"
          f" (parallel, all agree), {10 + EXTRA_AGENCIES} 分发 targets; PostgreSQL {connection.pg_version // 10000},"
          f" {mode}; {os.cpu_count()} CPUs; measured part took {elapsed:.0f} s")
    print(f"baseline: plain viewflow Task save (get + save() in one transaction, inbox post_save receiver):"
          f" median {base_ms:.2f} ms, {base_q:.0f} SQL queries ({len(baseline)} saves)")
    print()
    print(f"  {'action':<22}{'n':>6} {'median ms':>9} {'p90 ms':>9} {'max ms':>9} {'SQL med':>7} {'max':>6}"
          f" {'×base':>8}")
    print(row("拟稿 (create + 正文)", results.draft, base_ms))
    print(row("送审 (start)", results.start, base_ms))
    for name in STEP_ORDER:
        tag = " *" if name in FILE_STEPS else ""
        print(row(f"{STEP_LABELS[name]} ({name}){tag}", results.steps[name], base_ms))
        if name == "distribute":
            print(row("  then job: 30 收文流程启动", results.receipt_job, base_ms))
    print("  * renders or signs real files (套红排版: DOCX + GB/T 9704 check + PDF; 用印: PAdES signature;"
          " 归档: archive package)")
    print(f"    办公室核稿 also renders the DOCX once for its GB/T 9704 pre-check: that pre-check alone takes median"
          f" {med(results.precheck):.1f} ms (timed again separately, not part of any total); the rest of 核稿 is"
          f" fanning out to the {len(COUNTERSIGN_DEPTS)} parallel 会签 tasks.")
    print()
    print("SQL of one completion (the last document), grouped by statement and table:")
    for name in ("dept_review", "countersign", "office_check", "signoff", "distribute"):
        queries = results.last_sql.get(name, [])
        print(f"  {STEP_LABELS[name]} ({len(queries)}): {sql_summary(queries)}")
    print("statements per table (all verbs):")
    for name in ("dept_review", "countersign", "distribute"):
        queries = results.last_sql.get(name, [])
        print(f"  {STEP_LABELS[name]} ({len(queries)}): {per_table(queries)}")
    job = results.last_sql.get("receipt_job", [])
    print(f"  分发之后的作业：启动收文流程 ({len(job)}): {per_table(job)}")
    targets = 10 + EXTRA_AGENCIES
    print(f"  分发: {len(results.last_sql.get('distribute', [])) / targets:.1f} statements per receiving agency in"
          f" the sender's request, {len(job) / targets:.1f} per agency in the job after it")
    print()
    print("per task completion (each check_perform_issuance_step call):")
    print(row("all completions", all_completions, base_ms))
    print(row("routing-only", routing, base_ms))
    print(row("file steps only", files, base_ms))
    print()
    doc_ms = results.per_document
    doc_routing = results.per_document_routing
    print(f"per document (拟稿 + 送审 + {len(all_completions) // documents} completions):"
          f" median {statistics.median(doc_ms):.0f} ms, p90 {pct(doc_ms, 90):.0f} ms, max {max(doc_ms):.0f} ms;"
          f" without the file steps median {statistics.median(doc_routing):.0f} ms")
    print()
    routing_med, all_med = med(routing), med(all_completions)
    verdict = "PASS" if routing_med <= TARGET_MS else "FAIL"
    print(f"target ≤ {TARGET_MS:.0f} ms per completion:")
    print(f"  routing-only completions: median {routing_med:.1f} ms → {verdict}"
          f" (p90 {pct([s.ms for s in routing], 90):.1f} ms, max {max(s.ms for s in routing):.1f} ms)")
    print(f"  all completions incl. file steps: median {all_med:.1f} ms → {'PASS' if all_med <= TARGET_MS else 'FAIL'};"
          f" file steps alone median {med(files):.1f} ms")
    slow = {STEP_LABELS[n]: round(med(s), 1) for n, s in results.steps.items() if med(s) > TARGET_MS}
    if slow:
        print(f"  steps whose median exceeds {TARGET_MS:.0f} ms: {slow}")
    print()
    base_p90 = pct([s.ms for s in baseline], 90)
    all_p90 = pct([s.ms for s in all_completions], 90)
    distribute = med(results.steps["distribute"])
    until_started = statistics.median(results.until_started)
    print(f"issue 14: step completion median {all_med:.1f} ms = {all_med / base_ms:.1f}× the bare Task save"
          f" (goal ≤ 6×); p90 {all_p90:.1f} ms = {all_p90 / base_p90:.1f}× its p90;"
          f" 分发 to {10 + EXTRA_AGENCIES} agencies {distribute:.0f} ms = {distribute / all_med:.1f}× one completion"
          f" (goal ≤ 10×); until all {10 + EXTRA_AGENCIES} 收文 flows are started by the job after it"
          f" {until_started:.0f} ms = {until_started / all_med:.1f}× (no goal)")
    bench_result("发文 step completion median ÷ bare viewflow Task save", all_med, base_ms, "ms", 6)
    bench_result(f"分发 to {10 + EXTRA_AGENCIES} agencies ÷ one step completion (median)", distribute, all_med, "ms", 10)
    bench_result(f"分发 to {10 + EXTRA_AGENCIES} agencies until the job has started all their 收文 flows"
                 " ÷ one step completion (median)", until_started, all_med, "ms", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--documents", type=int, default=100, help="documents through the whole chain (default 100)")
    args = parser.parse_args()
    if args.documents < 1:
        raise SystemExit("--documents must be ≥ 1")
    if urlparse(PG).scheme not in {"postgres", "postgresql"}:
        raise SystemExit("BENCH_PG must be a postgresql:// URL")
    (DATA_DIR / "static").mkdir(parents=True, exist_ok=True)
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    try:
        import django

        django.setup()
        t0 = time.monotonic()
        setup = setup_district()
        print(f"database {DB_NAME}: demo district + 10 会签 departments + {EXTRA_AGENCIES} agencies"
              f" (set up in {time.monotonic() - t0:.1f} s)")
        t0 = time.monotonic()
        run_document(0, setup, None)
        print(f"warm-up document done in {time.monotonic() - t0:.1f} s (not counted)")
        results = Results()
        t0 = time.monotonic()
        for n in range(1, args.documents + 1):
            run_document(n, setup, results)
            if n % 10 == 0 or n == args.documents:
                print(f"  {n}/{args.documents} documents, {time.monotonic() - t0:.0f} s", flush=True)
        elapsed = time.monotonic() - t0
        baseline = baseline_task_saves()
        report(results, baseline, args.documents, elapsed)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up if the database creation failed
            pass
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        print(f"dropped {DB_NAME} and {DATA_DIR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
