from django.core.management import call_command
from django.core.management.base import BaseCommand

from oa.actions.demo import do_load_demo


class Command(BaseCommand):
    help = "加载演示区县（幂等）：机关、部门、约60名人员、角色、一项委托和工作日历"

    def add_arguments(self, parser):
        # Opt-in: the test suite loads the demo without seals and assumes no 制章者 exists.
        parser.add_argument("--with-seals", action="store_true",
                            help="另外初始化电子印章制章者（若没有）并为区府办、区财政局各制作一枚公章（幂等）")
        # Opt-in too: the demo meetings put 会议邀请 into the cast's 待办, which the test suite counts.
        parser.add_argument("--with-meetings", action="store_true", help="另外加载演示会议室和近几个工作日的会议（幂等）")

    def handle(self, *args, **options):
        counts = do_load_demo()
        self.stdout.write(
            f"演示数据已就绪：{counts['agencies']} 个机关，{counts['departments']} 个部门，{counts['people']} 名人员。"
        )
        # 函 and 纪要 series of 区政府 and 区府办 (documents app, by command name like the seals below).
        call_command("number_series", "demo", stdout=self.stdout, stderr=self.stderr)
        if options["with_seals"]:
            # By command name, so the platform core does not import the documents app.
            call_command("seal_ca", "demo", stdout=self.stdout, stderr=self.stderr)
        if options["with_meetings"]:
            call_command("meetings_demo", stdout=self.stdout, stderr=self.stderr)  # by name: oa imports no app
