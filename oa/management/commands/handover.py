from django.core.management.base import BaseCommand, CommandError

from oa.actions.delegation import check_handover
from oa.models import Person
from oa.refusals import Refusal


class Command(BaseCommand):
    help = "工作交接：把某人的全部未办结工作移交给另一人（记入审计日志）"

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="移交人用户名")
        parser.add_argument("--to", dest="target", required=True, help="接收人用户名")
        parser.add_argument("--reason", default="工作交接", help="交接原因")

    def handle(self, *args, **options):
        people = {p.username: p for p in Person.objects.filter(username__in=[options["source"], options["target"]])}
        for key in ("source", "target"):
            if options[key] not in people:
                raise CommandError(f"找不到用户“{options[key]}”。")
        try:
            moved = check_handover(
                actor=None, source=people[options["source"]], target=people[options["target"]], reason=options["reason"],
                via="command",
            )
        except Refusal as exc:
            raise CommandError(exc.message) from exc
        for item in moved:
            self.stdout.write(f"{item.label}：移交 {item.moved} 项")
        self.stdout.write(f"交接完成：{options['source']} → {options['target']}")
