"""manage.py sync_wecom --dry-run | --apply [--create] — thin wrapper over integrations.wecom.sync (docs/wecom.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.wecom.client import WecomError, wecom_enabled
from integrations.wecom.sync import render_plan, sync_platform


class Command(BaseCommand):
    help = "从移动政务平台通讯录关联人员账号（--dry-run 只显示差异，--apply 写入并记审计日志）"

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--dry-run", action="store_true", help="只显示将要进行的变更，不写入数据库")
        mode.add_argument("--apply", action="store_true", help="在一个事务中写入全部变更并记审计日志")
        parser.add_argument("--create", action="store_true", help="为本系统没有的平台成员新建人员（默认只列出）")

    def handle(self, *args: Any, **options: Any) -> None:
        if not wecom_enabled():
            raise CommandError("移动平台未配置：请先设置 OA_WECOM_CORP_ID 等变量（见 docs/wecom.md）")
        try:
            plan = sync_platform(apply=options["apply"], create=options["create"])
        except WecomError as exc:
            raise CommandError(f"读取平台通讯录失败：{exc}") from exc
        self.stdout.write(render_plan(plan), ending="")
