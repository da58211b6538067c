"""manage.py load_service_demo: the demo district's 零跑动 catalogue, office supplies and HR data (after load_demo)."""

from django.core.management.base import BaseCommand

from workflows.services.demo import do_load_service_demo


class Command(BaseCommand):
    help = "载入演示区的零跑动事项、办公用品和人事财务演示数据（须先 load_demo）"

    def handle(self, *args, **options):
        counts = do_load_service_demo()
        self.stdout.write(f"事项 {counts['items']} 项，办公用品 {counts['supplies']} 种，人事记录 {counts['hr']} 条")
