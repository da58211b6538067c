"""拟稿模板: a starting 正文 per 文种, in the structure the 条例 and common practice give each kind of document.

The drafter picks one when creating a document; the template becomes 正文 version 1 (attributed to the drafter)
and is edited like any other text. "……" marks what the drafter fills in.
"""

from __future__ import annotations

from dataclasses import dataclass

from documents.models import DocType, Layout


@dataclass(frozen=True)
class BodyTemplate:
    key: str
    label: str
    doc_type: str
    layout: str
    blocks: tuple[tuple[int, str], ...]  # (level, text); level 0 = paragraph, 1–4 = 一、/（一）/1./（1）

    def content(self) -> dict:
        return {"blocks": [{"type": "p", "level": level, "text": text} for level, text in self.blocks]}


TEMPLATES: dict[str, BodyTemplate] = {t.key: t for t in (
    BodyTemplate("notice", "通知（部署工作）", DocType.NOTICE, Layout.STANDARD, (
        (0, "为……，根据……，现将有关事项通知如下。"),
        (1, "总体要求"), (0, "……"),
        (1, "主要任务"), (2, "……"), (0, "……"),
        (1, "工作要求"), (0, "……"),
    )),
    BodyTemplate("request", "请示（一文一事）", DocType.REQUEST, Layout.STANDARD, (
        (0, "……（请示的缘由）。现将有关情况请示如下："),
        (1, "基本情况"), (0, "……"),
        (1, "请示事项"), (0, "……"),
        (0, "妥否，请批示。"),
    )),
    BodyTemplate("report", "报告（汇报工作）", DocType.REPORT, Layout.STANDARD, (
        (0, "根据……要求，现将……情况报告如下："),
        (1, "工作开展情况"), (0, "……"),
        (1, "存在的问题"), (0, "……"),
        (1, "下一步工作打算"), (0, "……"),
        (0, "特此报告。"),
    )),
    BodyTemplate("reply", "批复", DocType.REPLY, Layout.STANDARD, (
        (0, "你单位《关于……的请示》（……〔……〕……号）收悉。经研究，现批复如下："),
        (1, "……"), (1, "……"),
        (0, "此复。"),
    )),
    BodyTemplate("letter", "函（信函格式）", DocType.LETTER, Layout.LETTER, (
        (0, "……（发函缘由）。现将有关事项函告如下："),
        (1, "……"), (1, "……"),
        (0, "特此函告。"),
    )),
    BodyTemplate("minutes", "纪要（会议纪要格式）", DocType.MINUTES, Layout.MINUTES, (
        (0, "……年……月……日，……主持召开……会议，研究……。现将会议议定事项纪要如下："),
        (1, "……"), (1, "……"),
    )),
)}

TEMPLATE_CHOICES = [("", "不用模板（空白正文）"), *((t.key, t.label) for t in TEMPLATES.values())]
