"""manage.py sync_directory --dry-run | --apply — thin wrapper over integrations.ldap.sync (docs/ldap.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.ldap.client import DirectoryError
from integrations.ldap.sync import render_plan, sync_directory


class Command(BaseCommand):
    help = "从 LDAP 目录同步机关、部门、人员、兼职和角色（--dry-run 只显示差异，--apply 写入）"

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--dry-run", action="store_true", help="只显示将要进行的变更，不写入数据库")
        mode.add_argument("--apply", action="store_true", help="在一个事务中写入全部变更并记审计日志")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plan = sync_directory(apply=options["apply"])
        except DirectoryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(render_plan(plan), ending="")
