from django.core.management.base import BaseCommand

from workflows.information.demo import do_load_information_demo


class Command(BaseCommand):
    help = "信息报送演示数据：信息员、审核人、信息科编辑、计分规则和几个单位的政务信息（需先 load_demo）"

    def handle(self, *args, **options):
        created = do_load_information_demo()
        self.stdout.write(f"信息报送演示数据已加载（新增 {created} 条信息）")
