"""manage.py export_archive --agency 机关代字 --year 年度 OUTDIR — packages plus index.csv for the archives system."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from documents.actions.archive import do_export_archive
from oa.models import Agency


class Command(BaseCommand):
    help = (
        "导出一个机关某年度（按成文日期，未署日期的按创建日期）的全部归档包及索引 index.csv，供档案系统接收。"
        "导出前逐个复核摘要；有未通过复核的归档包时以非零状态退出。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", required=True, help="机关代字（如“揭东府办”）或规范化简称（如“区府办”）")
        parser.add_argument("--year", required=True, type=int, help="年度，如 2026")
        parser.add_argument("outdir", help="输出目录（不存在时创建）")

    def handle(self, *args, **options) -> None:
        code = options["agency"].strip()
        agency = Agency.objects.filter(Q(doc_code=code) | Q(short_name=code)).first()
        if agency is None:
            raise CommandError(f"找不到机关代字或简称为“{code}”的机关")
        year = options["year"]
        if not 1949 <= year <= 9999:
            raise CommandError(f"年度无效：{year}")
        result = do_export_archive(agency=agency, year=year, outdir=Path(options["outdir"]))
        self.stdout.write(f"{agency.name} {year} 年度：导出 {len(result.exported)} 个归档包，索引 {result.index}")
        for name, problems in result.failed:
            self.stderr.write(self.style.ERROR(f"未导出 {name}：" + "；".join(problems)))
        if result.failed:
            raise CommandError(f"{len(result.failed)} 个归档包未通过复核，已在索引中注明")
