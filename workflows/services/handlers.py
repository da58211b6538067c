"""The 办理类型 registry: an item kind that lives in its own module plugs into the generic service flow here instead of
growing actions.py, forms.py and views.py (docs/services.md 办理类型). One dataclass, one ``register_handler``, one
``handler_for``; ``items.autodiscover()`` (from ServicesConfig.ready) imports every module of
``workflows/services/items/`` and every installed app's ``service_items`` module, so a new kind is a new file.

A handler says what the application form asks (``fields``), how that input is checked and stored in
``application.form`` (``clean``), what rows it writes when the application is submitted or resubmitted
(``on_submit`` / ``on_resubmit``), stages it adds to the item's route (``stages`` before it, already resolved to
people; ``extra_stages`` after it, as role/scope steps), what happens at the *final step* (``final_fields``,
``on_final``, ``final_otp``: 派车, 用印), the result when the flow finishes (``finish``) or refuses (``reject``), and
what the pages show (``template`` with ``record`` / ``detail``, ``approver_notes``). Everything else — the catalogue,
一门受理, the route, 补正, 转办, 催办, 委托, 好差评, the timeline and 待办 — is the generic flow's. The built-in types
(certificates, 请休假, 办公用品, 通用审批) stay in actions.py; ``ServiceItem.handler``'s database choices are only those,
so a registered type needs no migration of the shared table.

The *final step* is the step after which the flow ends: the route's last stage when it is a single step, else the
受理 step of an item without a route. A kind that acts there must end its route with a single step — checked when the
administrator saves the item (``check_route_ends_single`` from its ``validate_item``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms

from oa.models import Person
from oa.refusals import Refusal


@dataclass(frozen=True)
class ServiceHandler:
    key: str
    label: str
    # (item, applicant or None when only listing, amending) → the fields the applicant fills in (nothing the system knows)
    fields: Callable[[Any, Person | None, bool], dict[str, forms.Field]]
    # (applicant, item, cleaned field values, application id when 补正) → application.form; raises Refusal
    clean: Callable[[Person, Any, dict[str, Any], int | None], dict[str, Any]]
    # key of application.form → label, for the pages' 申请内容 rows (other keys are not shown)
    labels: dict[str, str] = field(default_factory=dict)
    # refusal code → form field the message belongs under (application form and final-step form)
    refusal_fields: dict[str, str] = field(default_factory=dict)
    # (person, item) → {key: {label, value, source}} shown as 自动带出 besides the item's prefill keys
    prefill: Callable[[Person, Any], dict[str, dict[str, str]]] | None = None
    # (application, extra) inside the submit transaction; ``extra`` is what ``clean`` saw (and may have left)
    on_submit: Callable[[Any, dict[str, Any]], None] | None = None
    # (application, extra) inside the 补正 transaction, after the form changed
    on_resubmit: Callable[[Any, dict[str, Any]], None] | None = None
    # (item, form, applicant) → stages put before the item's route, already resolved to people
    stages: Callable[[Any, dict[str, Any], Person], list[list[dict[str, Any]]]] | None = None
    # (item, form, department) → role/scope stages appended after the item's route (resolved like the route)
    extra_stages: Callable[[Any, dict[str, Any], Any], list] | None = None
    # (application) → extra fields of the final step's form (派车: vehicle, driver)
    final_fields: Callable[[Any], dict[str, forms.Field]] | None = None
    # (actor, application, task, final field values, otp_verified) → runs before the final step completes; may refuse
    on_final: Callable[..., Any] | None = None
    final_otp: bool = False  # the final step needs two-factor authentication in this session (用印)
    # (application) → result_note, inside the flow's 办结 transaction; a Refusal undoes the step that finished it
    finish: Callable[[Any], str] | None = None
    reject: Callable[[Any], None] | None = None  # (application) when the flow ended 不予办理
    # (ItemFields) when the administrator saves an item of this kind; raises Refusal
    validate_item: Callable[[Any], None] | None = None
    result_types: tuple[str, ...] = ()  # allowed ServiceItem.Result values (empty: any)
    approver_notes: Callable[[Any], list[str]] | None = None  # (application) → warnings on the step page
    # included on the application page (and the step page when ``record`` is given)
    template: str = ""
    record: Callable[[Any, Person], Any] | None = None  # (application, viewer) → this kind's row, as ``record``
    detail: Callable[[Any, Person], dict[str, Any]] | None = None  # (application, viewer) → more template context
    # application.form → initial values of the fields when the applicant 补正s (default: the form's plain values)
    initial: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # the demo district's catalogue entry (workflows/services/demo.py ITEMS format) and seed data (agency → count)
    demo: dict[str, Any] | None = None
    seed: Callable[[Any], int] | None = None


_handlers: dict[str, ServiceHandler] = {}


def register_handler(handler: ServiceHandler) -> ServiceHandler:
    existing = _handlers.get(handler.key)
    if existing is not None and existing is not handler and existing.clean is not handler.clean:
        raise ValueError(f"service handler {handler.key!r} registered twice")
    _handlers[handler.key] = handler
    return handler


def handler_for(key: str) -> ServiceHandler | None:
    return _handlers.get(key)


def registered_handlers() -> dict[str, ServiceHandler]:
    return dict(_handlers)


def handler_choices() -> list[tuple[str, str]]:
    from workflows.services.models import ServiceItem

    return list(ServiceItem.Handler.choices) + [(h.key, h.label) for h in _handlers.values()]


def handler_label(key: str) -> str:
    return dict(handler_choices()).get(key, key)


def default_initial(form: dict[str, Any]) -> dict[str, Any]:
    """补正 initial values: the form's plain values, ``x_id`` also as ``x`` (seal_id → seal)."""
    initial = {k: v for k, v in form.items() if not isinstance(v, (dict, list))}
    initial.update({k.removesuffix("_id"): v for k, v in initial.items() if k.endswith("_id")})
    return initial


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
