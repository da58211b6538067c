"""拟稿 from a template: the document and its first 正文 version in one transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from documents.actions.body import do_save_body
from documents.actions.documents import do_create_document
from documents.body_templates import TEMPLATES
from documents.models import DocType, OfficialDocument
from oa.models import Agency, Department, Person
from oa.refusals import Refusal


@transaction.atomic
def check_create_from_template(*, actor: Person, agency: Agency, template: str, title: str,
                               department: Department | None = None, **fields: Any) -> OfficialDocument:
    chosen = TEMPLATES.get(template)
    if chosen is None:
        raise Refusal("unknown_template", "没有这个拟稿模板")
    doc_type = fields.pop("doc_type", chosen.doc_type)
    if doc_type != chosen.doc_type:
        raise Refusal("template_doc_type", f"模板“{chosen.label}”只用于文种“{DocType(chosen.doc_type).label}”")
    fields.setdefault("layout", chosen.layout)
    document = do_create_document(actor=actor, agency=agency, department=department, title=title,
                                  doc_type=doc_type, **fields)
    do_save_body(actor, document, chosen.content(), audit={"template": chosen.key})
    document.refresh_from_db()
    return document
