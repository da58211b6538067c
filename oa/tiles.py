"""Tile registry for the 工作台 (home) and GET /api/tiles; in core, so that oa/ never imports an app.

Each app registers its tiles in its AppConfig.ready(); the platform's own (待办, 待阅, 通讯录, 我的) are
registered by frontend.apps (frontend/tiles.py). A tile with a `box` shows the live count of that inbox box
and opens the inbox filtered to it; events.js keeps that count current through elements marked `data-count-box`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.templatetags.static import static
from django.urls import reverse

from oa.models import Person

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
    # Shortcuts by role (拟稿 for 拟稿人, 收文登记 for 文书): shown to holders of any of these roles; the roles are
    # read once per page for all tiles, so a role tile costs no query of its own.
    roles: frozenset[str] = frozenset()


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
    tiles = registered_tiles()
    held: frozenset[str] = frozenset()
    if any(t.roles for t in tiles):
        from oa.selectors.directory import held_roles

        held = held_roles(user)
    shown = [
        t for t in tiles if (not t.roles or t.roles & held) and (t.visible is None or t.visible(user))
    ]
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
