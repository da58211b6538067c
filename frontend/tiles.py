"""Tile registry for the 工作台 (home) and GET /api/tiles.

Each app registers its tiles in its AppConfig.ready(); the platform's own (待办, 待阅, 通讯录, 我的) are
registered by frontend.apps. A tile with a `box` shows the live count of that inbox box and opens the inbox
filtered to it; events.js keeps that count current through elements marked `data-count-box`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.templatetags.static import static
from django.urls import reverse

from oa.models import Person, WorkItem

ICON_SPRITE = "oa/img/icons.svg"


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    url_name: str  # a URL name without arguments
    icon: str  # a symbol id in frontend/static/oa/img/icons.svg
    box: str | None = None  # an inbox box ("todo", "toread", …): the tile counts it and links to it
    order: int = 100
    visible: Callable[[Person], bool] | None = None
    description: str = ""


@dataclass(frozen=True)
class ShownTile:
    """A tile as one user sees it: resolved URL and, for box tiles, the current count."""

    key: str
    label: str
    url: str
    icon: str
    icon_url: str
    box: str | None
    count: int | None
    description: str

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "url": self.url,
            "icon": self.icon,
            "icon_url": self.icon_url,
            "box": self.box,
            "count": self.count,
            "description": self.description,
        }


_tiles: dict[str, Tile] = {}


def register_tile(tile: Tile) -> Tile:
    # Keyed, so a second ready() (tests, autoreload) replaces instead of duplicating.
    _tiles[tile.key] = tile
    return tile


def registered_tiles() -> list[Tile]:
    return sorted(_tiles.values(), key=lambda t: (t.order, t.key))


def tiles_for(user: Person, counts: dict[str, int] | None = None) -> list[ShownTile]:
    """The tiles `user` may see, in order. `counts` (from inbox_counts) may be passed to save a query."""
    shown = [t for t in registered_tiles() if t.visible is None or t.visible(user)]
    if counts is None and any(t.box for t in shown):
        from oa.selectors.work import inbox_counts

        counts = inbox_counts(user)
    sprite = static(ICON_SPRITE)
    result = []
    for tile in shown:
        url = reverse(tile.url_name)
        if tile.box:
            url = f"{url}?box={tile.box}"
        result.append(
            ShownTile(
                key=tile.key,
                label=tile.label,
                url=url,
                icon=tile.icon,
                icon_url=f"{sprite}#{tile.icon}",
                box=tile.box,
                # Only open-item boxes have a count (已办/已阅 grow forever and are not "news").
                count=(counts or {}).get(tile.box) if tile.box else None,
                description=tile.description,
            )
        )
    return result


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
    from oa.models import Role

    return user.has_perm("oa.view_auditentry") or user.role_assignments.filter(role=Role.SYSADMIN).exists()
