"""manage.py seal_ca init|show|cert|new-kek|rotate-kek|issue|demo — the 电子印章制章者 and seal keys (docs/seals.md)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from documents.actions.seals import (
    check_create_seal,
    do_init_seal_authority,
    do_issue_demo_seals,
    do_rotate_seal_kek,
)
from documents.models import Seal, SealAuthority
from documents.seals import ca, keys
from oa.models import Agency, Person
from oa.refusals import Refusal


class Command(BaseCommand):
    help = "电子印章制章者（CA）：初始化、查看、导出证书、轮换私钥加密密钥、制作印章。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        init = sub.add_parser("init", help="创建制章者（X.509 ECDSA P-256 根证书 + SM2 根证书）；只需一次")
        init.add_argument("--name", default="电子印章制章者", help="制章者名称（证书 CN）")
        init.add_argument("--organization", default="一网协同办公平台", help="证书 O")
        init.add_argument("--years", type=int, default=20, help="根证书有效期（年）")
        init.add_argument("--replace", action="store_true", help="停用现有制章者并新建（旧制章者仍作为信任锚）")
        sub.add_parser("show", help="显示制章者与 KEK 状态")
        cert = sub.add_parser("cert", help="输出当前制章者证书（PEM），供 certutil/pdfsig 使用")
        cert.add_argument("--sm2", action="store_true", help="输出 SM2 制章者证书（GB/T 38540 用）")
        sub.add_parser("new-kek", help="生成一个新的 OA_SEAL_KEK 值")
        sub.add_parser("rotate-kek", help="用当前 OA_SEAL_KEK 重新加密全部印章私钥（旧密钥放在 OA_SEAL_KEK_PREVIOUS）")
        issue = sub.add_parser("issue", help="为机关制作电子印章")
        issue.add_argument("--agency", required=True, help="机关代字（如 揭东府办）")
        issue.add_argument("--kind", choices=Seal.Kind.values, default=Seal.Kind.OFFICIAL)
        issue.add_argument("--name", default="", help="印章名称（默认按机关与类型生成）")
        issue.add_argument("--algorithm", choices=Seal.Algorithm.values, default=Seal.Algorithm.ECDSA_P256)
        issue.add_argument("--years", type=int, default=5, help="有效期（年）")
        issue.add_argument("--by", required=True, help="制作人用户名（系统管理员）")
        demo = sub.add_parser("demo", help="演示区县：没有制章者则初始化，并为区府办、区财政局各制作一枚公章（可重复执行）")
        demo.add_argument("--by", default="sunhao", help="制作人用户名（系统管理员，默认演示账号 sunhao）")

    def handle(self, *args, **options) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except Refusal as exc:
            raise CommandError(exc.message) from exc

    def _init(self, options) -> None:
        authority = do_init_seal_authority(actor=None, name=options["name"], organization=options["organization"],
                                           years=options["years"], replace=options["replace"])
        cert = ca.load_cert(authority.cert_pem)
        self.stdout.write(f"已创建制章者：{authority.name}")
        self.stdout.write(f"X.509 证书 SHA-256：{ca.fingerprint(ca.cert_der(cert))}")
        self.stdout.write(f"SM2 证书 SHA-256：{ca.fingerprint(bytes(authority.sm2_cert_der))}")
        self.stdout.write(f"有效期至：{cert.not_valid_after_utc:%Y-%m-%d}；私钥已用 KEK {authority.kek_id} 加密保存")

    def _show(self, options) -> None:
        keyring = keys.keyring_from_settings()
        self.stdout.write(f"当前 KEK 标识：{keyring.current.key_id}；旧 KEK：{len(keyring.previous)} 个")
        authorities = list(SealAuthority.objects.order_by("created_at"))
        if not authorities:
            self.stdout.write("尚未创建制章者：运行 manage.py seal_ca init")
        for a in authorities:
            cert = ca.load_cert(a.cert_pem)
            state = "当前" if a.is_active else "已停用（仍为信任锚）"
            self.stdout.write(f"{state}\t{a.name}\t有效期至 {cert.not_valid_after_utc:%Y-%m-%d}\tKEK {a.kek_id}")
        stale = Seal.objects.exclude(kek_id=keyring.current.key_id).count()
        self.stdout.write(f"印章 {Seal.objects.count()} 枚，其中 {stale} 枚的私钥仍由旧 KEK 加密")

    def _cert(self, options) -> None:
        authority = SealAuthority.objects.filter(is_active=True).first()
        if authority is None:
            raise CommandError("尚未创建制章者：运行 manage.py seal_ca init")
        if options["sm2"]:
            self.stdout.write(ca.der_to_pem(bytes(authority.sm2_cert_der)), ending="")
        else:
            self.stdout.write(authority.cert_pem, ending="")

    def _new_kek(self, options) -> None:
        self.stdout.write(keys.generate_kek())

    def _rotate_kek(self, options) -> None:
        changed = do_rotate_seal_kek(actor=None)
        self.stdout.write(f"已用当前 KEK 重新加密 {changed} 条私钥记录")

    def _issue(self, options) -> None:
        agency = Agency.objects.filter(doc_code=options["agency"]).first()
        if agency is None:
            raise CommandError(f"没有机关代字为 {options['agency']} 的机关")
        actor = Person.objects.filter(username=options["by"]).first()
        if actor is None:
            raise CommandError(f"没有用户 {options['by']}")
        now = timezone.now()
        seal = check_create_seal(actor, agency=agency, kind=options["kind"], name=options["name"],
                                 algorithm=options["algorithm"], valid_from=now,
                                 valid_to=now + dt.timedelta(days=365 * options["years"]))
        self.stdout.write(f"已制作印章：{seal.name}（{seal.es_id}，{seal.get_algorithm_display()}）")

    def _demo(self, options) -> None:
        actor = Person.objects.filter(username=options["by"]).first()
        if actor is None:
            raise CommandError(f"没有用户 {options['by']}（先运行 manage.py load_demo）")
        counts = do_issue_demo_seals(actor=actor)
        authority = "已初始化制章者" if counts["authority_created"] else "制章者已存在"
        self.stdout.write(f"演示印章已就绪：{authority}，新制作公章 {counts['seals_created']} 枚")
