"""Periodic jobs of the SSO integration (oa.scheduling; Celery beat runs the same registry)."""

from __future__ import annotations

from oa.scheduling import periodic


@periodic("sso.cas_session_tickets", every_seconds=3600,
          description="清理 CAS 单点退出票据（SessionTicket）中会话已不存在的记录")
def cas_session_tickets() -> str:
    from integrations.sso.actions import do_delete_orphan_session_tickets

    return f"deleted={do_delete_orphan_session_tickets()}"
