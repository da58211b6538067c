from django.core.management.base import BaseCommand, CommandError, CommandParser

from documents.actions.numbering import do_seed_demo_series
from documents.selectors.numbering import series_of_agency
from oa.models import Agency
from oa.refusals import Refusal


class Command(BaseCommand):
    help = "文号序列：list 列出各机关的序列；demo 为演示区县设置区政府、区府办的函和纪要序列（幂等）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["list", "demo"])

    def handle(self, *args, **options) -> None:
        if options["what"] == "demo":
            try:
                made = do_seed_demo_series()
            except Refusal as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(f"演示文号序列已就绪（新建 {made} 个）。")
            return
        for agency in Agency.objects.order_by("sort_order", "id"):
            for s in series_of_agency(agency, active_only=False):
                state = "" if s.is_active else "（停用）"
                self.stdout.write(f"{agency.name}\t{s.name}{state}\t{s.code}\t{s.number_format}\t{','.join(s.doc_types)}")
