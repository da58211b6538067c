"""人事/财务 data source (integrations/hr, docs/services.md): CSV and XLSX imports are all or nothing with every bad
row named by its line; the HTTP pull adapter is contract-tested against a real HTTP server on loopback."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from integrations.hr.actions import check_import_hr
from integrations.hr.models import HrRecord
from integrations.hr.source import HrDataError, HttpHrSource, parse_csv, parse_xlsx
from oa.models import AuditEntry
from tests.clients import login

pytestmark = pytest.mark.django_db
HEADER = "账号,姓名,入职日期,职级,收入档次,年收入,假期年度,年休假天数,已休天数\n"
GOOD = "zhangwei,张伟,2016-07-01,一级科员,三档,96000,2026,10,2\nlina,李娜,2009-08-15,四级主任科员,五档,138000,2026,15,0\n"


def test_csv_import_writes_every_row_and_is_audited(cast):
    count = check_import_hr(None, parse_csv((HEADER + GOOD).encode("utf-8-sig")), source="测试")
    assert count == 2
    record = HrRecord.objects.get(person=cast.zhangwei)
    assert record.hire_date == dt.date(2016, 7, 1) and record.annual_leave_days == Decimal(10)
    assert record.annual_income == Decimal(96000)
    assert AuditEntry.objects.filter(action="hr.import", changes__rows=2).exists()


def test_csv_in_gb18030_is_read(cast):
    assert check_import_hr(None, parse_csv((HEADER + GOOD).encode("gb18030")), source="测试") == 2


def test_bad_rows_are_all_reported_with_their_lines_and_nothing_is_imported(cast):
    check_import_hr(None, parse_csv((HEADER + GOOD).encode()), source="第一次")
    bad = (HEADER + "zhangwei,张伟,2016-07-01,一级科员,四档,99000,2026,10,2\n"  # line 2 fine (would update)
           "lina,李娜,2009-13-01,四级主任科员,五档,138000,2026,15,0\n"  # line 3: bad date
           "\n"  # line 4 blank: skipped
           "gaojun,高军,2021-09-01,二级科员,二档,,2026,5,6\n"  # line 5: used > days
           "zhangwei,张伟,2016-07-01,一级科员,三档,96000,2026,10,2\n")  # line 6: duplicate account
    with pytest.raises(HrDataError) as exc:
        check_import_hr(None, parse_csv(bad.encode()), source="第二次")
    messages = [str(e) for e in exc.value.errors]
    assert messages == [
        "第 3 行：入职日期“2009-13-01”不是有效日期（应为 2015-09-01 这样的格式）",
        "第 5 行：已休天数 6 超过了年休假天数 5",
        "第 6 行：账号“zhangwei”与第 2 行重复",
    ]
    assert HrRecord.objects.get(person=cast.zhangwei).income_band == "三档"  # line 2 was not applied either

    unknown = HEADER + "nobody,无名,2020-01-01,科员,一档,,2026,5,0\nlina,李四,2009-08-15,科员,五档,,2026,15,0\n"
    with pytest.raises(HrDataError) as exc:
        check_import_hr(None, parse_csv(unknown.encode()), source="第三次")
    assert [str(e) for e in exc.value.errors] == [
        "第 2 行：账号“nobody”在通讯录中不存在",
        "第 3 行：账号“lina”的姓名是“李娜”，与表中的“李四”不符",
    ]
    assert HrRecord.objects.count() == 2


def test_missing_columns_are_named(cast):
    with pytest.raises(HrDataError) as exc:
        parse_csv("账号,姓名,工资\nzhangwei,张伟,1\n".encode())
    assert [str(e) for e in exc.value.errors] == [
        "第 1 行（表头）：缺少列：入职日期、职级、收入档次、假期年度、年休假天数",
        "第 1 行（表头）：无法识别的列：工资",
    ]


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_import_and_its_bad_row(cast):
    header = HEADER.strip().split(",")
    good = _xlsx([header, ["zhangwei", "张伟", dt.datetime(2016, 7, 1), "一级科员", "三档", 96000, 2026, 10, 2]])
    assert check_import_hr(None, parse_xlsx(good), source="xlsx") == 1
    assert HrRecord.objects.get(person=cast.zhangwei).hire_date == dt.date(2016, 7, 1)
    bad = _xlsx([header, ["lina", "李娜", dt.datetime(2009, 8, 15), "四级主任科员", "五档", 138000, 2026, 15, 0],
                 ["gaojun", "高军", "不详", "二级科员", "二档", None, 1999, 5, 0]])
    with pytest.raises(HrDataError) as exc:
        parse_xlsx(bad)
    assert [str(e) for e in exc.value.errors] == [
        "第 3 行：入职日期“不详”不是有效日期（应为 2015-09-01 这样的格式）",
        "第 3 行：假期年度“1999”应为 2000～2100 之间的年份",
    ]
    assert not HrRecord.objects.filter(person=cast.lina).exists()
    with pytest.raises(HrDataError):
        parse_xlsx(b"not a workbook")


def test_import_page_shows_every_error_and_imports_nothing(cast, sysadmin):
    bad = (HEADER + GOOD + "gaojun,高军,,二级科员,二档,,2026,5,0\n").encode()
    response = sysadmin.post("/services/manage/hr-import", {"file": SimpleUploadedFile("人事.csv", bad, "text/csv")})
    html = response.content.decode()
    assert response.status_code == 400 and "未导入任何数据" in html and "第 4 行：“入职日期”不能为空" in html
    assert HrRecord.objects.count() == 0
    ok = sysadmin.post("/services/manage/hr-import",
                       {"file": SimpleUploadedFile("人事.csv", (HEADER + GOOD).encode(), "text/csv")})
    assert ok.status_code == 302 and HrRecord.objects.count() == 2
    assert login(cast.zhangwei).get("/services/manage/hr-import").status_code == 403


# --- HTTP pull adapter against a real server on loopback -----------------------------------------------------


class _HrServer:
    def __init__(self) -> None:
        self.payload: object = {"records": []}
        self.status = 200
        self.seen_auth: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.seen_auth.append(self.headers.get("Authorization", ""))
                if self.headers.get("Authorization") != "Bearer s3cret":
                    self.send_response(401)
                    self.end_headers()
                    return
                body = owner.payload if isinstance(owner.payload, bytes) else json.dumps(owner.payload).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/hr/records"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()


@pytest.fixture
def hr_server():
    server = _HrServer()
    yield server
    server.stop()


RECORD = {"account": "zhangwei", "name": "张伟", "hire_date": "2016-07-01", "grade": "一级科员", "income_band": "三档",
          "annual_income": "96000", "leave_year": 2026, "annual_leave_days": 10, "annual_leave_used": 2}


def test_http_pull_contract(cast, hr_server):
    hr_server.payload = {"records": [RECORD, {**RECORD, "account": "lina", "name": "李娜"}]}
    source = HttpHrSource(hr_server.url, "s3cret")
    assert check_import_hr(None, source.rows(), source=source.name) == 2
    assert hr_server.seen_auth == ["Bearer s3cret"]
    assert HrRecord.objects.get(person=cast.lina).grade == "一级科员"


def test_http_pull_bad_record_and_bad_answers_import_nothing(cast, hr_server):
    hr_server.payload = {"records": [RECORD, {**RECORD, "account": "lina", "name": "李娜", "annual_leave_days": 99},
                                     "not a record"]}
    with pytest.raises(HrDataError) as exc:
        HttpHrSource(hr_server.url, "s3cret").rows()
    assert str(exc.value.errors[0]) == "第 2 条记录：年休假天数“99”应为 0～30 之间的数字"
    assert str(exc.value.errors[1]).startswith("第 3 条记录：")
    with pytest.raises(HrDataError) as exc:
        HttpHrSource(hr_server.url, "wrong").rows()
    assert str(exc.value.errors[0]) == "接口：人事系统返回 HTTP 401"
    hr_server.payload = b"<html>"
    with pytest.raises(HrDataError) as exc:
        HttpHrSource(hr_server.url, "s3cret").rows()
    assert str(exc.value.errors[0]) == "接口：人事系统返回的不是 JSON"
    hr_server.payload = {"items": []}
    with pytest.raises(HrDataError) as exc:
        HttpHrSource(hr_server.url, "s3cret").rows()
    assert "缺少 records 列表" in str(exc.value.errors[0])
    hr_server.stop()
    with pytest.raises(HrDataError) as exc:
        HttpHrSource(hr_server.url, "s3cret", timeout=2).rows()
    assert "无法连接人事系统" in str(exc.value.errors[0])
    assert HrRecord.objects.count() == 0
