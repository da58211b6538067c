"""Attachments of 进度反馈 and 办结报告 (docs/supervision.md 附件): downloadable by whoever may see the unit task, the
same 404 for an outsider as for a missing file, served as attachments."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from supervision.models import UnitTask
from tests.clients import login
from tests.test_supervision import PNG, _handling_item, ok, on

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_feedback_and_report_files_only_for_those_who_see_the_item(cast):
    item = _handling_item(cast, assist_agencies=[])
    unit = item.units.get()
    with on(dt.date(2026, 9, 18)):
        finance = login(cast.finance04)
        assert ok(finance.post(f"/supervision/units/{unit.pk}/", {
            "op": "feedback", "text": "现场照片", "progress": "40",
            "files": [SimpleUploadedFile("现场.png", PNG, content_type="image/png")]}))
        assert ok(finance.post(f"/supervision/units/{unit.pk}/", {
            "op": "report", "report": "已办结", "report_files": [SimpleUploadedFile("办结报告.pdf", PDF)]}))
        feedback = unit.feedbacks.get()
        unit.refresh_from_db()
        assert unit.status == UnitTask.Status.REPORTED and unit.report_files[0]["content_type"] == "application/pdf"

        page = finance.get(f"/supervision/units/{unit.pk}/").content.decode()
        feedback_url = f"/supervision/feedback/{feedback.pk}/files/1/"
        report_url = f"/supervision/units/{unit.pk}/report-files/1/"
        assert feedback_url in page and report_url in page

        got = finance.get(feedback_url)
        assert got.status_code == 200 and _body(got) == PNG
        assert got["Content-Disposition"].startswith("attachment") and "filename*=UTF-8''%E7%8E%B0" in got[
            "Content-Disposition"]
        supervisor = login(cast.zhaolei)
        got = supervisor.get(report_url)
        assert got.status_code == 200 and _body(got) == PDF
        assert report_url in supervisor.get(f"/supervision/units/{unit.pk}/").content.decode()
        leader = login(cast.linxiaodong, otp=True)  # 交办领导
        assert leader.get(feedback_url).status_code == 200

        # An outsider (another unit's staff) gets 404, as for a file that does not exist.
        outsider = login(cast.market01, otp=True)
        assert outsider.get(feedback_url).status_code == 404
        assert outsider.get(report_url).status_code == 404
        assert finance.get(f"/supervision/feedback/{feedback.pk}/files/2/").status_code == 404
        assert finance.get(f"/supervision/units/{unit.pk}/report-files/0/").status_code == 404
        assert finance.get("/supervision/feedback/999999/files/1/").status_code == 404


def test_a_report_file_of_the_wrong_kind_is_refused_and_nothing_written(cast):
    item = _handling_item(cast, assist_agencies=[])
    unit = item.units.get()
    with on(dt.date(2026, 9, 18)):
        response = login(cast.finance04).post(f"/supervision/units/{unit.pk}/", {
            "op": "report", "report": "已办结", "report_files": [SimpleUploadedFile("x.pdf", b"MZ\x90\x00not a pdf")]})
    assert response.status_code == 400
    unit.refresh_from_db()
    assert unit.status == UnitTask.Status.HANDLING and unit.report_files == [] and unit.report == ""
