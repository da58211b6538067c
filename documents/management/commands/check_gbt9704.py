"""manage.py check_gbt9704 FILE.docx — GB/T 9704-2012 conformance report; exits non-zero on any failure."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from documents.checker import LAYOUT_NAMES, check_gbt9704, recorded_layout


class Command(BaseCommand):
    help = "按 GB/T 9704-2012 检查 DOCX 公文版式，逐条列出实测值；有不符合项时以非零状态退出。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="DOCX 文件路径")
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument("--upward", action="store_true", default=None, help="按上行文检查（要求签发人）")
        kind.add_argument("--not-upward", dest="upward", action="store_false", help="按非上行文检查")
        parser.add_argument("--layout", choices=["standard", "letter", "minutes"], default=None,
                            help="按指定版式检查：standard 文件格式、letter 信函格式、minutes 纪要格式"
                                 "（默认读 DOCX 核心属性，未记录时按文件格式）")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            results = check_gbt9704(path, upward=options["upward"], layout=options["layout"])
        except Exception as exc:  # a corrupt or non-DOCX file: say so instead of a traceback
            raise CommandError(f"无法读取 DOCX：{exc}") from exc
        self.stdout.write(f"GB/T 9704-2012 版式检查：{path}")
        layout = options["layout"] or recorded_layout(path)
        self.stdout.write(f"版式：{LAYOUT_NAMES[layout]}（{layout}）")
        self.stdout.write("结果\t规则\t实测\t要求")
        for r in results:
            mark = self.style.SUCCESS("通过") if r.passed else self.style.ERROR("不符")
            self.stdout.write(f"{mark}\t{r.rule}\t{r.measured}\t{r.expected}")
        failed = [r for r in results if not r.passed]
        self.stdout.write(f"共 {len(results)} 项，通过 {len(results) - len(failed)} 项，不符 {len(failed)} 项。")
        if failed:
            raise CommandError(f"{len(failed)} 项不符合 GB/T 9704-2012：" + "、".join(r.rule for r in failed))
