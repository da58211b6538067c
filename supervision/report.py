"""月度督查通报 (docs/supervision.md 通报): the month's figures written as the 正文 of a 公文 (文种 通报) of the
督查室's agency, drafted like the meetings' 纪要 (meetings.minutes) and sent into the existing 发文 flow
(workflows.actions.issuance.check_start_issuance): 审核 → 核稿 → 签发 → 登记/编号 → 排版 → 分发 → 归档.

The text is a draft: the drafter edits it in the 公文 editor like any other before 送审.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from documents.models import DocType, OfficialDocument
from oa.actions.audit import do_record_audit
from oa.models import Agency, Person
from oa.refusals import Refusal
from oa.selectors.directory import primary_appointment
from supervision.dashboard import (
    NOT_DISPATCHED,
    Dashboard,
    Figures,
    Filters,
    build_dashboard,
    month_bounds,
    overdue_tasks,
)
from supervision.models import Bulletin, UnitTask
from supervision.selectors import supervisor_agency_ids

TABLE_HEADER = ["承办单位", "到期任务", "已办结", "按期办结", "按期办结率", "逾期未办结", "平均逾期（工作日）"]


def _date_cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"  # GB/T 9704: Arabic numerals, no zero padding


def _rate(f: Figures) -> str:
    return "—" if f.ontime_rate is None else f"{f.ontime_rate}%"


def _avg(f: Figures) -> str:
    return "—" if f.average_delay is None else f"{f.average_delay}"


def bulletin_title(year: int, month: int) -> str:
    return f"关于{year}年{month}月督查督办事项办理情况的通报"


def agency_tasks(agency: Agency):
    """The tasks a 督查室's 通报 covers: every unit of the items its agency dispatched."""
    return UnitTask.objects.filter(item__agency=agency).exclude(item__status__in=NOT_DISPATCHED)


def check_month(year: int, month: int, today: dt.date) -> tuple[dt.date, dt.date]:
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise Refusal("bulletin_month_invalid", "请选择有效的年份和月份。")
    first, last = month_bounds(year, month)
    if first > today:
        raise Refusal("bulletin_future_month", f"{year}年{month}月尚未到来，不能生成该月的督查通报。")
    return first, last


def bulletin_figures(agency: Agency, year: int, month: int, *, today: dt.date | None = None) -> tuple[Dashboard, list]:
    """The month's dashboard (tasks due in the month) and every task still open past its deadline by the month's
    end (earlier months' included). Refuses a future month and a month with nothing to report."""
    today = today or timezone.localdate()
    first, last = check_month(year, month, today)
    base = agency_tasks(agency)
    board = build_dashboard(base, Filters(first, last), today=today, trend=False)
    overdue = list(overdue_tasks(base, last, today=today))
    if not board.total.total and not overdue:
        raise Refusal("bulletin_no_data",
                      f"{year}年{month}月没有到期的督办任务，也没有逾期未办结的事项，无可通报的数据。", status=409)
    return board, overdue


def bulletin_body(year: int, month: int, board: Dashboard, overdue: list, today: dt.date) -> dict:
    """The 正文 in the documents engine's block format (headings level 1 are numbered 一、二、… by the renderer)."""
    t = board.total
    as_of = _date_cn(today)  # the figures are those of the day the 通报 is drafted
    blocks = [{"type": "p", "level": 0, "text": (
        f"为压实工作责任、推动督办事项落地见效，现将{year}年{month}月督查督办事项办理情况通报如下：")}]
    blocks.append({"type": "p", "level": 1, "text": "总体情况"})
    blocks.append({"type": "p", "level": 0, "text": (
        f"{year}年{month}月到期的督办任务共{t.total}项，涉及{len(board.units)}个承办单位。截至{as_of}，已办结{t.done}项，"
        f"其中按期办结{t.ontime}项、逾期办结{t.late}项，按期办结率{_rate(t)}；逾期未办结{t.overdue}项；"
        f"逾期任务平均逾期{_avg(t)}个工作日。")})
    blocks.append({"type": "p", "level": 1, "text": "各单位办理情况"})
    if board.units:
        rows = [TABLE_HEADER] + [[u.label, str(u.total), str(u.done), str(u.ontime), _rate(u), str(u.overdue), _avg(u)]
                                 for u in board.units]
        rows.append(["合计", str(t.total), str(t.done), str(t.ontime), _rate(t), str(t.overdue), _avg(t)])
        blocks.append({"type": "table", "rows": rows, "header": True})
    else:
        blocks.append({"type": "p", "level": 0, "text": "本月没有到期的督办任务。"})
    blocks.append({"type": "p", "level": 1, "text": "逾期未办结事项"})
    if overdue:
        blocks.append({"type": "p", "level": 0, "text": (
            f"截至{_date_cn(today)}，以下{len(overdue)}项督办任务已超过办理期限仍未办结（含以前月份到期的）：")})
        for n, task in enumerate(overdue, start=1):
            item = task.item
            role = "牵头" if task.role == UnitTask.Role.LEAD else "协办"
            blocks.append({"type": "p", "level": 0, "text": (
                f"{n}. {item.number}“{item.title}”，{role}单位{task.agency.short_name or task.agency.name}，"
                f"办理期限{_date_cn(task.deadline)}，已逾期{task.delay_wd}个工作日。")})
    else:
        blocks.append({"type": "p", "level": 0, "text": "截至通报之日，没有逾期未办结的督办事项。"})
    blocks.append({"type": "p", "level": 1, "text": "有关要求"})
    blocks.append({"type": "p", "level": 0, "text": (
        "请各承办单位对照通报，逐项抓好落实。逾期未办结的单位要认真分析原因，明确整改措施和完成时限，"
        "于5个工作日内将整改情况书面报送区政府督查室。")})
    return {"blocks": blocks}


def _supervised_agency(user: Person) -> Agency:
    sup = supervisor_agency_ids(user)
    if not sup:
        raise Refusal("not_supervisor", "只有督查员可以起草督查通报。", status=403)
    return Agency.objects.get(pk=sorted(sup)[0])


def check_draft_bulletin(user: Person, year: int, month: int, *, ip: str | None = None) -> Bulletin:
    """起草月度通报: a draft 公文 (文种 通报) of the 督查室's agency with the month's figures as its 正文, recorded
    once per agency and month, audited. The drafter then edits and 送审 it (check_send_bulletin)."""
    from documents.actions.body import check_save_body
    from documents.actions.documents import do_create_document

    agency = _supervised_agency(user)
    today = timezone.localdate()
    board, overdue = bulletin_figures(agency, year, month, today=today)
    appointment = primary_appointment(user)
    department = appointment.department if appointment and appointment.department.agency_id == agency.pk else None
    figures = {"total": board.total.total, "done": board.total.done, "ontime": board.total.ontime,
               "late": board.total.late, "overdue": board.total.overdue, "ontime_rate": board.total.ontime_rate,
               "average_delay": board.total.average_delay, "units": len(board.units),
               "overdue_named": [t.pk for t in overdue]}
    try:
        with transaction.atomic():
            if Bulletin.objects.select_for_update().filter(agency=agency, year=year, month=month).exists():
                raise Refusal("bulletin_exists", f"{year}年{month}月的督查通报已经起草，请在该通报公文中修改。",
                              status=409)
            document = do_create_document(actor=user, agency=agency, title=bulletin_title(year, month),
                                          doc_type=DocType.BULLETIN, department=department,
                                          main_recipients=["各承办单位"], written_date=today)
            check_save_body(user, document, bulletin_body(year, month, board, overdue, today), if_match=None)
            bulletin = Bulletin.objects.create(agency=agency, year=year, month=month, document=document,
                                               drafted_by=user, figures=figures)
            do_record_audit(actor=user, action="supervision.bulletin_draft", obj=bulletin,
                            object_repr=str(bulletin), changes={"document": document.pk, **figures}, ip=ip)
    except IntegrityError:  # a concurrent draft of the same month won the unique constraint
        raise Refusal("bulletin_exists", f"{year}年{month}月的督查通报已经起草，请在该通报公文中修改。",
                      status=409) from None
    return bulletin


def check_send_bulletin(user: Person, bulletin: Bulletin, *, ip: str | None = None):
    """送审: the 通报 enters the existing 发文 flow (only its drafter may, as for any draft)."""
    from workflows.actions.issuance import check_start_issuance

    if bulletin.document.created_by_id != user.pk:
        raise Refusal("not_drafter", "只有通报的起草人可以送审。", status=403)
    with transaction.atomic():
        process = check_start_issuance(user, bulletin.document)
        do_record_audit(actor=user, action="supervision.bulletin_send", obj=bulletin, object_repr=str(bulletin),
                        changes={"document": bulletin.document_id, "process": process.pk}, ip=ip)
    return process


def bulletins_visible_to(user: Person):
    return Bulletin.objects.filter(agency_id__in=supervisor_agency_ids(user)).select_related("document")


def access_bulletin_by_id(user: Person, bulletin_id: int) -> Bulletin:
    from django.http import Http404

    bulletin = bulletins_visible_to(user).filter(pk=bulletin_id).first()
    if bulletin is None:
        raise Http404("督查通报不存在或您无权查看。")
    return bulletin


def render_bulletin(bulletin: Bulletin, fmt: str) -> bytes:
    """The draft as it would be typeset now (provisional 文号 and date), DOCX or PDF, by the documents engine. Once
    the 发文 flow has typeset it, the final files are the document's own (documents: final download)."""
    from documents.rendering import render_docx
    from documents.rendering.pdf import render_pdf
    from documents.specs import provisional_spec

    doc = OfficialDocument.objects.get(pk=bulletin.document_id)
    if fmt == "docx" and doc.final_docx:
        with doc.final_docx.open("rb") as fh:
            return fh.read()
    if fmt == "pdf" and doc.final_pdf:
        with doc.final_pdf.open("rb") as fh:
            return fh.read()
    spec = provisional_spec(doc)
    return render_docx(spec) if fmt == "docx" else render_pdf(spec)
