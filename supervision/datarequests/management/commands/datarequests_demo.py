from django.core.management.base import BaseCommand

from supervision.datarequests.demo import do_load_datarequests_demo


class Command(BaseCommand):
    help = "加载报表“一张表”演示数据（幂等）：一张已报送的财政快报、一张区府办每月报表（已报送、被退回、逾期报送）和一份待审核的清单申请"

    def handle(self, *args, **options):
        created = do_load_datarequests_demo()
        self.stdout.write(f"报表演示数据已就绪：新建 {len(created)} 张报表" + (f"（{'、'.join(created)}）" if created else "") + "。")
