"""manage.py import_hr FILE.csv|FILE.xlsx  or  manage.py import_hr --url URL [--token T]: 导入人事财务数据."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.hr.actions import check_import_hr
from integrations.hr.source import HrDataError, HttpHrSource, parse_upload


class Command(BaseCommand):
    help = "导入人事财务数据（CSV/XLSX 文件或人事系统接口），全部正确才导入"

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?")
        parser.add_argument("--url")
        parser.add_argument("--token", default="")

    def handle(self, *args, **options):
        try:
            if options["url"]:
                source = HttpHrSource(options["url"], options["token"])
                count = check_import_hr(None, source.rows(), source=source.name)
            elif options["file"]:
                path = Path(options["file"])
                count = check_import_hr(None, parse_upload(path.name, path.read_bytes()), source=f"文件 {path.name}")
            else:
                raise CommandError("请指定文件或 --url")
        except HrDataError as exc:
            raise CommandError("未导入任何数据：\n" + "\n".join(str(e) for e in exc.errors)) from None
        self.stdout.write(f"已导入 {count} 条人事财务记录")
