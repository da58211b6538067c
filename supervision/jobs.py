"""Periodic jobs of 督查督办 (oa.scheduling): lights every hour, automatic 催办 rounds every hour."""

from __future__ import annotations

from oa.scheduling import periodic


@periodic("supervision.lights", every_seconds=3600, description="督办亮灯重算")
def recompute_lights() -> str:
    from supervision.actions import do_recompute_lights

    return f"changed={len(do_recompute_lights())}"


@periodic("supervision.auto_urge", every_seconds=3600, description="督办逾期自动催办（逐级）")
def auto_urge() -> str:
    from supervision.actions import do_auto_urge

    return f"fired={do_auto_urge()}"
