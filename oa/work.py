"""Flow-agnostic registry of "open work" providers, used by 工作交接 (handover).

Each app that owns work a person must do (viewflow tasks now; 传阅, meeting invitations, 督办 items and
service requests later) registers a provider; handover asks every provider to move a person's open work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
