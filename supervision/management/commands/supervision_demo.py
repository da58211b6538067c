from django.core.management.base import BaseCommand

from supervision.demo import do_load_supervision_demo


class Command(BaseCommand):
    help = "加载督查督办演示数据（幂等）：两条亮灯规则和三件不同亮灯的督办事项"

    def handle(self, *args, **options):
        created = do_load_supervision_demo()
        self.stdout.write(f"督办演示数据已就绪：新建 {created} 件督办事项。")
