"""Platform periodic jobs (see oa.scheduling)."""

from __future__ import annotations

import logging

from django.core.management import call_command

from oa.scheduling import periodic

logger = logging.getLogger(__name__)


@periodic("oa.clear_sessions", every_seconds=3600, description="清理过期会话")
def clear_sessions() -> str:
    call_command("clearsessions")
    return "ok"


@periodic("oa.verify_audit", every_seconds=24 * 3600, description="校验审计日志哈希链")
def verify_audit() -> str:
    from oa.selectors.audit import verify_audit_chain

    report = verify_audit_chain()
    if not report.ok:
        logger.error("审计日志哈希链校验失败：%s，%s", report.where, report.reason)
    return f"ok={report.ok} checked={report.checked}"


@periodic("oa.audit_checkpoint", every_seconds=3600, description="审计日志检查点：记下各条链的链头")
def audit_checkpoint() -> str:
    from oa.actions.audit import do_audit_checkpoint

    entry = do_audit_checkpoint()
    return f"chain={entry.chain} seq={entry.seq}"


@periodic("oa.calendar_check", every_seconds=24 * 3600, description="检查当年及次年放假安排是否已导入")
def calendar_check() -> str:
    from oa.selectors.calendar import calendar_warnings

    warnings = calendar_warnings()
    for message in warnings:
        logger.warning("工作日历：%s", message)
    return "ok" if not warnings else f"missing={len(warnings)}"
