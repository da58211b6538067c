"""Attachments of 进度反馈 and 办结报告 (docs/supervision.md 附件): read only through ``access_unit_by_id`` — whoever
may see the unit task may download its files, anyone else gets the same 404 as for a missing file — and handed
over by integrations.storage.downloads (attachment disposition, sandbox CSP; presigned or streamed on MinIO)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import models
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpRequest, HttpResponse

from integrations.storage.downloads import download_response
from oa.models import Person
from supervision.models import Feedback, UnitTask
from supervision.selectors import access_unit_by_id

_FILE_FIELD = models.FileField()  # default_storage: the storage _store_file wrote to


def _nth(files: list, index: int) -> dict[str, Any]:
    """The index-th file (1-based, as listed) or Http404."""
    if not 1 <= index <= len(files or []) or not isinstance(files[index - 1], dict) or not files[index - 1].get("key"):
        raise Http404("附件不存在。")
    return files[index - 1]


def access_feedback_file(user: Person, feedback_id: int, index: int) -> tuple[Feedback, dict[str, Any]]:
    feedback = Feedback.objects.filter(pk=feedback_id).first()
    if feedback is None:
        raise Http404("附件不存在。")
    access_unit_by_id(user, feedback.unit_id)  # 404 for whoever may not see the unit task
    return feedback, _nth(feedback.files, index)


def access_report_file(user: Person, unit_id: int, index: int) -> tuple[UnitTask, dict[str, Any]]:
    unit = access_unit_by_id(user, unit_id)
    return unit, _nth(unit.report_files, index)


def _download(owner: models.Model, meta: dict[str, Any]) -> HttpResponse:
    return download_response(FieldFile(owner, _FILE_FIELD, meta["key"]), filename=str(meta.get("name") or "附件"),
                             content_type=str(meta.get("content_type") or "application/octet-stream"),
                             size=meta.get("size"))


@login_required
def feedback_file(request: HttpRequest, feedback_id: int, index: int) -> HttpResponse:
    feedback, meta = access_feedback_file(request.user, feedback_id, index)
    return _download(feedback, meta)


@login_required
def report_file(request: HttpRequest, unit_id: int, index: int) -> HttpResponse:
    unit, meta = access_report_file(request.user, unit_id, index)
    return _download(unit, meta)
