"""manage.py import_holidays FILE [--year Y] [--replace]: import 放假/调休 schedules (docs/calendar.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oa.actions.calendar import CalendarImportError, do_import_calendar_text
from oa.selectors.calendar import CalendarFormatError


class Command(BaseCommand):
    help = "导入法定节假日与调休安排（文本格式见 docs/calendar.md）；文件有任何错误则不导入任何内容"

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="日历文件（UTF-8 文本），“-”表示标准输入")
        parser.add_argument("--year", type=int, help="只导入该年份；文件没有“年份”行时指定其年份")
        parser.add_argument("--replace", action="store_true", help="该年份已有日历时用文件内容整体替换")

    def handle(self, *args, **options) -> None:
        name = options["file"]
        if name == "-":
            text = sys.stdin.read()
        else:
            path = Path(name)
            try:
                text = path.read_text(encoding="utf-8-sig")
            except FileNotFoundError as exc:
                raise CommandError(f"找不到文件“{name}”") from exc
            except UnicodeDecodeError as exc:
                raise CommandError(f"文件“{name}”不是 UTF-8 编码的文本") from exc
        try:
            results = do_import_calendar_text(
                actor=None, text=text, year=options["year"], replace=options["replace"], origin=name
            )
        except CalendarFormatError as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(f"“{name}”有 {len(exc.errors)} 处错误，未导入任何内容。") from exc
        except CalendarImportError as exc:
            raise CommandError(f"{exc} 未导入任何内容。") from exc
        for result in results:
            self.stdout.write(str(result))
