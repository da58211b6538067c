"""The 办理类型 registry: what an item module plugs into the generic service flow (docs/services.md 办理类型).

The generic code (actions, forms, views, selectors) asks ``spec_of(item.handler)``; a registered ``HandlerSpec``
answers with its form fields, its checks, the rows it writes, what happens at the final step (派车, 用印) and at
办结. Items that are not registered (the first four) keep their original code paths.

The *final step* is the step after which the flow ends: the route's last stage when it is a single step, else the
受理 step of an item without a route. An item whose 办理类型 acts there (``final_fields``) must end its route with a
single step — checked when the administrator saves the item (``check_route_ends_single``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oa.refusals import Refusal


@dataclass(frozen=True)
class HandlerSpec:
    key: str
    # item, applicant (None when only listing), amending → {name: django form field}; nothing the system knows
    form_fields: Callable[..., dict]
    # applicant, item, cleaned extra data, application id (re-check on 补正) → the stored form dict; Refusal on bad input
    check: Callable[..., dict[str, Any]]
    labels: dict[str, str] = field(default_factory=dict)  # form key → label for the pages (others hidden)
    refusal_fields: dict[str, str] = field(default_factory=dict)  # refusal code → form field it belongs to
    prefill: Callable[..., dict] | None = None  # (person, item) → {key: {label, value, source}}
    # (application, extra) — rows of its own, in the submit transaction; ``extra`` is what ``check`` saw (and left)
    on_submit: Callable[..., None] | None = None
    on_resubmit: Callable[..., None] | None = None  # (application, extra) after 补正 changed the form
    extra_stages: Callable[..., list] | None = None  # (item, form, department) → stages appended to the route
    final_fields: Callable[..., dict] | None = None  # (application) → extra fields of the final step's form
    # (actor, application, task, extra, otp_verified) → timeline note; runs before the step completes, may refuse
    on_final: Callable[..., str] | None = None
    finish: Callable[..., str] | None = None  # (application) → 办结 result note (inside the flow transaction)
    on_reject: Callable[..., None] | None = None  # (application) when a step refused
    validate_item: Callable[..., None] | None = None  # (ItemFields) when the administrator saves an item
    approver_notes: Callable[..., list[str]] | None = None  # (application) → warnings shown on the step page
    detail_template: str = ""  # included on the application and step pages with ``record``
    record: Callable[..., Any] | None = None  # (application, user) → this item's row for the templates
    final_otp: bool = False  # the final step needs two-factor authentication in this session (用印)


_SPECS: dict[str, HandlerSpec] = {}


def register(spec: HandlerSpec) -> HandlerSpec:
    _SPECS[spec.key] = spec
    return spec


def spec_of(handler: str) -> HandlerSpec | None:
    return _SPECS.get(handler)


def is_final_step(task, process_data: dict) -> bool:
    """The step after which the flow ends (no stage after it, and it is its stage's only step)."""
    stages = process_data.get("stages") or []
    name = task.flow_task.name
    if name == "intake":
        return not stages
    if name == "approve":
        index = int(process_data.get("stage_index", 0))
        return index == len(stages) - 1 and len(stages[index]) == 1
    return False


def check_route_ends_single(route: list, what: str) -> None:
    if route and len(route[-1]) != 1:
        raise Refusal("service_route_final_parallel",
                      f"{what}须由路线的最后一个环节办理，最后一行不能是协作联办（只能有一个环节）。")
