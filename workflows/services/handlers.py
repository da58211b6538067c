"""办理类型 registry: an item kind that lives in its own module (workflows/services/items/*.py) plugs into the
generic service machinery here instead of growing actions.py, forms.py and views.py.

A handler says what the application form asks (``fields``), how that input is checked and stored in
``application.form`` (``clean``), what rows it writes when the application is submitted or resubmitted
(``on_submit``), extra people-specific stages before the item's route (``stages``), and the result when the flow
finishes (``finish``) or refuses (``reject``). Everything else — the catalogue, 一门受理, the route, 补正, 转办,
催办, 委托, 好差评, the timeline and 待办 — is the generic flow's. The built-in types (certificates, 请休假,
办公用品, 通用审批) stay in actions.py; ``ServiceItem.handler`` stores the key (no database choices, so a new type
needs no migration of the shared table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms

from oa.models import Person


@dataclass(frozen=True)
class ServiceHandler:
    key: str
    label: str
    # (item, applicant or None, amending) → the form fields the applicant fills in (nothing the system knows)
    fields: Callable[[Any, Person | None, bool], dict[str, forms.Field]]
    # (applicant, item, cleaned field values, application id when 补正) → application.form; raises Refusal
    clean: Callable[[Person, Any, dict[str, Any], int | None], dict[str, Any]]
    # key of application.form → label, for the step page's 申请内容 rows
    labels: dict[str, str] = field(default_factory=dict)
    # refusal code → form field the message belongs under
    refusal_fields: dict[str, str] = field(default_factory=dict)
    # (application, created: bool) inside the submit / 补正 transaction
    on_submit: Callable[[Any, bool], None] | None = None
    # (item, form, applicant) → stages put before the item's route, already resolved to people
    stages: Callable[[Any, dict[str, Any], Person], list[list[dict[str, Any]]]] | None = None
    # (application) → result_note, inside the flow's 办结 transaction; a Refusal undoes the step that finished it
    finish: Callable[[Any], str] | None = None
    reject: Callable[[Any], None] | None = None
    # (application, viewer) → context for ``template`` on the application page
    detail: Callable[[Any, Person], dict[str, Any]] | None = None
    template: str = ""
    # application.form → initial values of the fields when the applicant 补正s
    initial: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    result_types: tuple[str, ...] = ()
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
