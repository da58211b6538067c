from django.core.management.base import BaseCommand

from oa.actions.demo import do_load_demo


class Command(BaseCommand):
    help = "加载演示区县（幂等）：机关、部门、约60名人员、角色、一项委托和工作日历"

    def handle(self, *args, **options):
        counts = do_load_demo()
        self.stdout.write(
            f"演示数据已就绪：{counts['agencies']} 个机关，{counts['departments']} 个部门，{counts['people']} 名人员。"
        )
