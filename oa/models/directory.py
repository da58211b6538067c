"""机关、部门、职务、人员、任职（含兼职）和角色授权。"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from oa.uscc import validate_uscc


class Agency(models.Model):
    class Kind(models.TextChoices):
        GOVERNMENT = "government", "人民政府"
        OFFICE = "office", "政府办公室"
        BUREAU = "bureau", "政府工作部门"
        TOWN = "town", "镇（街道）"
        OTHER = "other", "其他机关"

    class OrdinarySignoff(models.TextChoices):
        # 条例第二十二条: 重要公文和上行文由主要负责人签发; the rest "按本机关规定".
        PRINCIPAL_ONLY = "principal", "仅主要负责人"
        PRINCIPAL_OR_RESPONSIBLE_DEPUTY = "responsible_deputy", "主要负责人或拟稿部门的分管领导"
        PRINCIPAL_OR_ANY_DEPUTY = "any_deputy", "主要负责人或任一分管领导"

    name = models.CharField("机关全称", max_length=100, unique=True)
    short_name = models.CharField("规范化简称", max_length=50)
    doc_code = models.CharField(
        "机关代字", max_length=20, unique=True, help_text="用于发文字号，如“揭东府”“揭东府办”"
    )
    uscc = models.CharField(
        "统一社会信用代码", max_length=18, unique=True, validators=[validate_uscc]
    )
    kind = models.CharField("机关类型", max_length=20, choices=Kind.choices, default=Kind.BUREAU)
    parent = models.ForeignKey(
        "self", verbose_name="上级机关", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    ordinary_signoff = models.CharField(
        "一般公文签发规则",
        max_length=20,
        choices=OrdinarySignoff.choices,
        default=OrdinarySignoff.PRINCIPAL_OR_RESPONSIBLE_DEPUTY,
    )
    sort_order = models.PositiveIntegerField("排序", default=100)
    is_active = models.BooleanField("启用", default=True)
    external_id = models.CharField("目录标识(entryUUID)", max_length=64, null=True, blank=True, unique=True)
    # Blank: the agency works in this deployment. Otherwise the code of the exchange peer (another deployment)
    # that hosts it; 分发 to it travels as a signed exchange package (integrations.exchange).
    exchange_node = models.CharField("所在交换节点", max_length=40, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "机关"
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.short_name or self.name


class Department(models.Model):
    agency = models.ForeignKey(Agency, verbose_name="所属机关", on_delete=models.PROTECT, related_name="departments")
    parent = models.ForeignKey(
        "self", verbose_name="上级部门", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField("部门名称", max_length=100)
    sort_order = models.PositiveIntegerField("排序", default=100)
    is_active = models.BooleanField("启用", default=True)
    external_id = models.CharField("目录标识(entryUUID)", max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = verbose_name_plural = "部门"
        ordering = ["agency__sort_order", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "parent", "name"], name="department_unique_name_in_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.agency}·{self.name}"


class Post(models.Model):
    """职务 (局长, 副局长, 科长, 科员 …). Lower level = more senior, used for ordering lists."""

    name = models.CharField("职务名称", max_length=50, unique=True)
    level = models.PositiveIntegerField("职级排序", default=100)

    class Meta:
        verbose_name = verbose_name_plural = "职务"
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class Person(AbstractUser):
    """The custom user model, from the first migration. `name` is the full Chinese name (姓名)."""

    class Source(models.TextChoices):
        LOCAL = "local", "本地账号"
        LDAP = "ldap", "目录同步"

    name = models.CharField("姓名", max_length=50)
    mobile = models.CharField("手机号码", max_length=20, blank=True)
    source = models.CharField("账号来源", max_length=10, choices=Source.choices, default=Source.LOCAL)
    external_id = models.CharField("目录标识(entryUUID)", max_length=64, null=True, blank=True, unique=True)
    external_dn = models.CharField("目录DN", max_length=500, blank=True)
    must_change_password = models.BooleanField("首次登录须修改密码", default=False)
    password_changed_at = models.DateTimeField("密码修改时间", null=True, blank=True)
    failed_login_count = models.PositiveIntegerField("连续登录失败次数", default=0)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)
    disabled_reason = models.CharField("停用原因", max_length=200, blank=True)
    # userid on the 粤政易-style mobile platform (WeCom API); empty = not reachable there.
    platform_userid = models.CharField("移动平台账号", max_length=64, null=True, blank=True, unique=True)

    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = verbose_name_plural = "人员"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.username

    def get_full_name(self) -> str:
        return self.name or self.username

    def get_short_name(self) -> str:
        return self.name or self.username


class Appointment(models.Model):
    """任职: one primary post per person plus any number of concurrent posts (兼职)."""

    class Source(models.TextChoices):
        LOCAL = "local", "本地维护"
        LDAP = "ldap", "目录同步"

    person = models.ForeignKey(Person, verbose_name="人员", on_delete=models.CASCADE, related_name="appointments")
    department = models.ForeignKey(
        Department, verbose_name="部门", on_delete=models.PROTECT, related_name="appointments"
    )
    post = models.ForeignKey(Post, verbose_name="职务", on_delete=models.PROTECT, related_name="appointments")
    is_primary = models.BooleanField("主职", default=True)
    source = models.CharField("来源", max_length=10, choices=Source.choices, default=Source.LOCAL)

    class Meta:
        verbose_name = verbose_name_plural = "任职"
        ordering = ["-is_primary", "post__level", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(is_primary=True), name="appointment_one_primary_per_person"
            ),
            models.UniqueConstraint(fields=["person", "department", "post"], name="appointment_unique"),
        ]

    def __str__(self) -> str:
        label = "" if self.is_primary else "（兼）"
        return f"{self.person} {self.department} {self.post}{label}"


class Role(models.TextChoices):
    DRAFTER = "drafter", "拟稿人"
    REVIEWER = "reviewer", "核稿人"
    DEPT_HEAD = "dept_head", "部门负责人"
    CLERK = "clerk", "办公室/文书"
    DEPUTY_LEADER = "deputy_leader", "分管领导"
    PRINCIPAL = "principal", "主要负责人"
    SUPERVISOR = "supervisor", "督查员"
    SEAL_KEEPER = "seal_keeper", "印章管理员"
    CDO = "cdo", "首席数据官"
    SYSADMIN = "sysadmin", "系统管理员"
    SECADMIN = "secadmin", "安全管理员"
    AUDITADMIN = "auditadmin", "审计管理员"


# 三员分立 (docs/security.md): the directory, the permissions and the audit log each have their own administrator,
# and no one person may hold two of these roles (oa.selectors.directory.validate_role_assignment).
ADMIN_ROLES = (Role.SYSADMIN, Role.SECADMIN, Role.AUDITADMIN)

# Roles whose holders can sign off, use seals or change the system: TOTP is mandatory for them (等保三级).
TWO_FACTOR_ROLES = frozenset(
    {Role.PRINCIPAL, Role.DEPUTY_LEADER, Role.SEAL_KEEPER, Role.SYSADMIN, Role.SECADMIN, Role.AUDITADMIN}
)


class RoleAssignment(models.Model):
    """A role held in a scope: a whole agency (department empty) or one department.

    For 分管领导 the department is the one the leader is in charge of; for 部门负责人 the department led.
    """

    class Source(models.TextChoices):
        LOCAL = "local", "本地维护"
        LDAP = "ldap", "目录同步"

    person = models.ForeignKey(Person, verbose_name="人员", on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField("角色", max_length=20, choices=Role.choices)
    agency = models.ForeignKey(Agency, verbose_name="机关", on_delete=models.PROTECT, related_name="role_assignments")
    department = models.ForeignKey(
        Department,
        verbose_name="部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    source = models.CharField("来源", max_length=10, choices=Source.choices, default=Source.LOCAL)

    class Meta:
        verbose_name = verbose_name_plural = "角色授权"
        ordering = ["agency__sort_order", "role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "role", "agency", "department"], name="role_assignment_unique"
            ),
            models.UniqueConstraint(
                fields=["person", "role", "agency"],
                condition=Q(department__isnull=True),
                name="role_assignment_unique_agency_scope",
            ),
        ]
        indexes = [models.Index(fields=["role", "agency", "department"])]

    def __str__(self) -> str:
        scope = self.department.name if self.department_id else str(self.agency)
        return f"{self.person}：{self.get_role_display()}（{scope}）"
