"""Flow-agnostic registries of work: "open work" providers for 工作交接 (handover), and work kinds for the inbox.

Each app that owns work a person must do (viewflow tasks now; 传阅, meeting invitations, 督办 items and
service requests later) registers a provider; handover asks every provider to move a person's open work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from oa.models import Person


class WorkProvider(Protocol):
    kind: str
    label: str

    def count_open(self, person: Person) -> int: ...

    def move_open(self, source: Person, target: Person) -> int: ...


@dataclass(frozen=True)
class MovedWork:
    kind: str
    label: str
    moved: int


_providers: dict[str, WorkProvider] = {}


def register_work_provider(provider: WorkProvider) -> WorkProvider:
    _providers[provider.kind] = provider
    return provider


def work_providers() -> list[WorkProvider]:
    return list(_providers.values())


# --- Work kinds: what lands in the inbox (WorkItem.kind) and what a person can do with it -------------------
#
# Every kind of work (flow tasks now; 传阅 待阅, meeting invitations, 督办 items, service requests later)
# registers a WorkKind in its AppConfig.ready(). The inbox selector never branches on kind: rows come from the
# WorkItem table, and a kind only answers "which actions may this user take on this item" and "perform one".


@dataclass(frozen=True)
class WorkAction:
    key: str  # stable, used in URLs: POST /api/work/{id}/actions/{key}
    label: str  # button text, e.g. 办理完成
    style: str = "primary"  # primary | secondary | danger (the design system's button variants)
    needs_opinion: bool = False  # True: an empty opinion is refused


@dataclass(frozen=True)
class CardButton:
    """A button on the mobile platform's card for an item (integrations/wecom, docs/wecom.md 按钮卡片).

    With `link` empty it is a callback button: pressing it runs perform(owner, item, key, {"via": CARD_VIA}) as
    the platform user mapped to the owner. With `link` (a site path) it opens that page, for answers that need
    input (a reason, a colleague) the card cannot carry."""

    key: str
    label: str  # ≤ 10 characters on the platform
    link: str = ""
    primary: bool = False


CARD_VIA = "platform_card"  # data["via"] of a perform() that came from a card button


@dataclass(frozen=True)
class WorkKind:
    key: str
    label: str
    # actions(item, user) -> list[WorkAction]; perform(user, item, action_key, data) -> None.
    # perform runs inside the caller's transaction and writes through the kind's own actions module; the
    # WorkItem is then closed/updated by that module (for flow tasks: by the viewflow receiver).
    actions: Callable[[Any, Person], list[WorkAction]]
    perform: Callable[[Person, Any, str, dict], None]
    icon: str = "task"
    # Optional mobile-platform button card: card_buttons(item) -> buttons (empty: the plain card);
    # card_answer(closed item) -> what the updated card says (short; never an opinion or a reason).
    card_buttons: Callable[[Any], list[CardButton]] | None = None
    card_answer: Callable[[Any], str] | None = None


_kinds: dict[str, WorkKind] = {}


def register_work_kind(kind: WorkKind) -> WorkKind:
    _kinds[kind.key] = kind
    return kind


def work_kinds() -> list[WorkKind]:
    return list(_kinds.values())


def work_kind(key: str) -> WorkKind | None:
    return _kinds.get(key)


# --- 委托范围: the kinds of work a 委托 can be limited to ------------------------------------------------------
#
# A flow routes its steps through resolve_assignee(owner, <its delegation kind>); the app owning the flow registers
# that kind here with its Chinese name, so 我的 → 委托 offers exactly the kinds a 委托 can actually move.


@dataclass(frozen=True)
class DelegationScope:
    key: str  # the value stored in Delegation.flow_types, e.g. "issuance"
    label: str  # 发文


_scopes: dict[str, DelegationScope] = {}


def register_delegation_scope(key: str, label: str) -> DelegationScope:
    scope = _scopes[key] = DelegationScope(key, label)
    return scope


def delegation_scopes() -> list[DelegationScope]:
    return list(_scopes.values())
