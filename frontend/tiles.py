"""The platform's own workbench tiles (待办, 待阅, 通知公告, 发布公告, 通讯录, 我的, 审计日志); the registry is oa.tiles."""

from __future__ import annotations

from oa.models import Person, Role, WorkItem
from oa.tiles import Tile, register_tile


def register_platform_tiles() -> None:
    register_tile(
        Tile("todo", "待办", "inbox", "todo", box=WorkItem.Box.TODO, order=10, description="需要我办理的工作")
    )
    register_tile(
        Tile(
            "toread",
            "待阅",
            "inbox",
            "toread",
            box=WorkItem.Box.TOREAD,
            order=20,
            description="需要我阅知的文件",
        )
    )
    register_tile(
        Tile("announcements", "通知公告", "announcements", "announce", order=60, description="本机关和全区的通知公告")
    )
    register_tile(
        Tile(
            "announcement_new",
            "发布公告",
            "announcement_new",
            "announce",
            order=62,
            roles=frozenset({Role.CLERK}),
            description="向本机关（区府办可向全区）发布通知公告",
        )
    )
    register_tile(
        Tile("directory", "通讯录", "directory", "directory", order=80, description="查找各机关、部门和人员")
    )
    register_tile(
        Tile("profile", "我的", "profile", "profile", order=90, description="任职、角色、委托与安全设置")
    )
    register_tile(
        Tile(
            "audit",
            "审计日志",
            "audit",
            "audit",
            order=95,
            visible=_can_view_audit,
            description="查询与导出安全审计记录",
        )
    )


def _can_view_audit(user: Person) -> bool:
    from oa.selectors.audit import may_view_audit

    return may_view_audit(user)
