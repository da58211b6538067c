"""Periodic jobs of 报表“一张表” (oa.scheduling): open the rounds of monthly/quarterly requests, 催报 once per round."""

from __future__ import annotations

from oa.scheduling import periodic


@periodic("datarequests.open_rounds", every_seconds=3600, description="周期报表按月/季度下发新一期")
def open_rounds() -> str:
    from supervision.datarequests.actions import do_open_due_rounds

    return f"opened={do_open_due_rounds()}"


@periodic("datarequests.remind", every_seconds=3600, description="报表截止前一个工作日催报（每期一次）")
def remind() -> str:
    from supervision.datarequests.actions import do_remind_due

    return f"urged={do_remind_due()}"
