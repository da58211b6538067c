"""督查通知单: the written 交办 notice of one item, as an A4 PDF through the documents engine's slip renderer
(documents.rendering.slip): same fonts, page numbers, and every user string escaped by its paragraph helper."""

from __future__ import annotations

from reportlab.platypus.tables import Table, TableStyle

from documents.rendering import slip as s
from documents.rendering.spec import format_cn_date
from supervision.models import SupervisionItem


def render_notice(item: SupervisionItem) -> bytes:
    units = list(item.units.select_related("agency", "handler").order_by("-role", "id"))
    lead = [u.agency.name for u in units if u.role == "lead"]
    assist = [u.agency.name for u in units if u.role == "assist"]
    if item.cycle == "weekly":
        cycle = f"每周星期{'一二三四五六日'[(item.cycle_weekday or 1) - 1]}"
    elif item.cycle == "monthly":
        cycle = f"每月{item.cycle_monthday}日"
    else:
        cycle = "、".join(str(d) for d in item.cycle_dates)
    rows = [
        ("督办编号", item.number),
        ("事项名称", item.title),
        ("来源", f"{item.get_source_type_display()} {item.source_basis}".strip()),
        ("交办领导", item.leader.get_full_name()),
        ("牵头单位", "、".join(lead)),
        ("协办单位", "、".join(assist) or "无"),
        ("责任人", item.responsible.get_full_name()),
        ("办理要求", item.requirements),
        ("办结标准", item.completion_standard or "—"),
        ("办理期限", format_cn_date(item.deadline)),
        ("反馈周期", cycle),
        ("督查员", item.supervisor.get_full_name()),
    ]

    def story(styles):
        data = [[s._p(label, styles.label), s._p(value or s.EMPTY, styles.value)] for label, value in rows]
        table = Table(data, colWidths=[s.LABEL_W, s.WIDTH - s.LABEL_W], style=TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), styles.fangsong),
            ("GRID", (0, 0), (-1, -1), s.RULE, s.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), s.PAD),
            ("BOTTOMPADDING", (0, 0), (-1, -1), s.PAD),
        ]), splitByRow=1)
        note = s._p("请承办单位收到后在系统内签收，按反馈周期报送进度，办结后报送办结报告。", styles.note)
        return [table, s.Spacer(s.WIDTH, 6), note]

    return s._render(header=f"{item.agency.name}督查通知单", doc_number=item.number, title=item.title,
                     author=item.agency.name, kind_name="督查通知单", story=story, fonts=None)
