"""信息报送 periodic jobs (oa.scheduling): the daily sweep of attachment files no record points at."""

from __future__ import annotations

from oa.scheduling import periodic


@periodic("information.sweep_attachments", every_seconds=24 * 3600, description="清理信息报送中无记录引用的附件文件")
def sweep_attachments() -> str:
    from workflows.information.actions import do_sweep_orphan_attachments

    return f"removed={len(do_sweep_orphan_attachments())}"
