"""One row per person: what the 人事/财务 systems know, so that no form asks for it again (三不提交)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class HrRecord(models.Model):
    person = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name="人员", on_delete=models.CASCADE,
                                  related_name="hr_record")
    hire_date = models.DateField("入职日期")
    grade = models.CharField("职级", max_length=50)
    income_band = models.CharField("收入档次", max_length=50)
    annual_income = models.DecimalField("年收入（元）", max_digits=12, decimal_places=2, null=True, blank=True)
    leave_year = models.PositiveIntegerField("假期年度")
    annual_leave_days = models.DecimalField("年休假天数", max_digits=5, decimal_places=1)
    annual_leave_used = models.DecimalField("系统外已休天数", max_digits=5, decimal_places=1, default=0)
    # 财务: the person's 差旅费 for the 假期年度 (the record's data year); empty = the finance system has none.
    travel_budget = models.DecimalField("年度差旅费额度（元）", max_digits=12, decimal_places=2, null=True, blank=True)
    source = models.CharField("来源", max_length=200)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "人事财务记录"
        ordering = ["person_id"]

    def __str__(self) -> str:
        return f"{self.person} {self.grade}"
