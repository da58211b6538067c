from django.core.management.base import BaseCommand, CommandError

from oa.selectors.audit import verify_audit_chain


class Command(BaseCommand):
    help = "校验审计日志哈希链；发现篡改时以非零状态退出并指出第一条损坏的记录"

    def handle(self, *args, **options):
        report = verify_audit_chain()
        if not report.ok:
            raise CommandError(
                f"审计日志校验失败：{report.where}，{report.reason}（此前 {report.checked} 条正常）"
            )
        self.stdout.write(
            f"审计日志完整：已校验 {report.checked} 条记录（{report.chains} 条链，{report.checkpoints} 个检查点）。"
        )
