"""零跑动 periodic jobs (oa.scheduling): 限时查阅 expiry and 超期自动催办, each exactly once per grant / step."""

from __future__ import annotations

from oa.scheduling import periodic


@periodic("services.expire_access", every_seconds=60, description="限时查阅（档案、公文借阅）到期自动收回")
def expire_access() -> str:
    from workflows.services.items.grants import do_expire_access

    return f"expired={do_expire_access()}"


@periodic("services.auto_urge", every_seconds=300, description="办事环节超过事项承诺时限自动催办（每环节一次）")
def auto_urge() -> str:
    from workflows.services.overdue import do_urge_overdue_steps

    return f"urged={do_urge_overdue_steps()}"
