"""Registry of the apps' own management pages shown under 管理 (/manage/), beside the 三员 pages; in core, so that
oa/ never imports an app.

An app registers a page in its AppConfig.ready() with who may open it (``visible``, checked again by the page
itself). The 管理 link in the navigation shows for the three administrators and for anyone a registered page is
visible to; ``roles`` (as for tiles) lets the navigation decide from the roles already read for the page, so a
role-holder costs no query; ``visible`` is asked only when no listed role is held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oa.models import Person

APP_SECTION_LABEL = "业务管理"


@dataclass(frozen=True)
class ManagePage:
    key: str
    title: str
    url_name: str  # a URL name without arguments
    description: str
    visible: Callable[[Person], bool]
    roles: frozenset[str] = frozenset()  # holders of any of these roles see it without asking `visible`


_pages: dict[str, ManagePage] = {}


def register_manage_page(page: ManagePage) -> ManagePage:
    _pages[page.key] = page  # keyed: a second ready() replaces
    return page


def manage_pages_for(user: Person) -> list[ManagePage]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    from oa.selectors.directory import held_roles

    held = held_roles(user)
    return [p for p in sorted(_pages.values(), key=lambda p: p.key) if held & p.roles or p.visible(user)]
