import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oa.actions.audit import AuditRetentionError, do_purge_audit


class Command(BaseCommand):
    help = "清理早于指定天数的审计日志（不得少于保留期 OA_AUDIT_RETENTION_DAYS，至少180天）"

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, required=True)

    def handle(self, *args, **options):
        before = timezone.now() - dt.timedelta(days=options["older_than_days"])
        try:
            count = do_purge_audit(actor=None, before=before)
        except AuditRetentionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已清理 {count} 条审计记录。")
