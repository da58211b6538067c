"""Link provincial identities to people: `manage.py sso_link` (docs/sso.md “关联统一身份”).

  sso_link --provider oidc --subject 7f3c…  --username zhangwei     link one
  sso_link --provider cas --csv links.csv                           link many (columns: subject,username),
                                                                    all or nothing, every error with its line
  sso_link --provider oidc --subject 7f3c… --unlink                 remove a link
  sso_link --list [--provider oidc]                                 show the links
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.sso.actions import check_link_identities_csv, check_link_identity, do_unlink_identity
from integrations.sso.models import Provider, SsoIdentity
from oa.models import Person
from oa.refusals import Refusal


class Command(BaseCommand):
    help = "关联（或解除）省统一身份认证账号与本系统人员：按 OIDC sub 或 CAS 用户名，从不按邮箱。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--provider", choices=Provider.values)
        parser.add_argument("--subject", help="统一身份标识：OIDC 的 sub，或 CAS 用户名/所配置的属性值")
        parser.add_argument("--username", help="本系统人员的登录名")
        parser.add_argument("--csv", type=Path, help="批量关联：UTF-8 CSV，表头 subject,username")
        parser.add_argument("--unlink", action="store_true", help="解除 --subject 的关联")
        parser.add_argument("--list", action="store_true", help="列出已关联的统一身份")

    def handle(self, *args, **options) -> None:
        if options["list"]:
            return self._list(options["provider"])
        if not options["provider"]:
            raise CommandError("请用 --provider 指定认证方式（oidc 或 cas）。")
        provider = options["provider"]
        if options["csv"]:
            return self._link_csv(provider, options["csv"])
        if not options["subject"]:
            raise CommandError("请用 --subject 指定统一身份标识。")
        if options["unlink"]:
            identity = SsoIdentity.objects.filter(provider=provider, subject=options["subject"]).first()
            if identity is None:
                raise CommandError(f"没有找到统一身份标识 {options['subject']} 的关联。")
            do_unlink_identity(actor=None, identity=identity, via="command")
            self.stdout.write(f"已解除关联：{options['subject']}（{identity.person.get_full_name()}）")
            return None
        if not options["username"]:
            raise CommandError("请用 --username 指定本系统人员的登录名。")
        person = Person.objects.filter(username=options["username"]).first()
        if person is None:
            raise CommandError(f"本系统没有登录名为 {options['username']} 的人员。")
        try:
            check_link_identity(actor=None, provider=provider, subject=options["subject"], person=person)
        except Refusal as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"已关联：{options['subject']} → {person.get_full_name()}（{person.username}）")
        return None

    def _list(self, provider: str | None) -> None:
        rows = SsoIdentity.objects.select_related("person").order_by("provider", "subject")
        if provider:
            rows = rows.filter(provider=provider)
        for row in rows:
            last = row.last_login_at.strftime("%Y-%m-%d %H:%M") if row.last_login_at else "从未登录"
            self.stdout.write(f"{row.provider}\t{row.subject}\t{row.person.username}\t{row.person.get_full_name()}\t{last}")

    def _link_csv(self, provider: str, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"无法读取 {path}：须为 UTF-8 编码的 CSV 文件（{exc}）") from exc
        try:
            linked = check_link_identities_csv(actor=None, provider=provider, text=text, via="command_csv")
        except Refusal as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"已关联 {linked} 个统一身份。")
