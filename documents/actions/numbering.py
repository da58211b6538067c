"""文号: allocation inside the registering transaction, and the ledger of 作废 / 空号 / 补号 (docs/numbering.md).

Lock order, the same in every function here so two of them can never wait for each other:
the document row (when there is one) → the sequence row → ledger rows. The audit entry each act ends with takes
no part in it: an append never waits (oa.actions.audit takes whichever chain is free). The sequence row is the
only thing allocations of one series queue on, so it is taken as late as possible and held as briefly.
"""

from __future__ import annotations

import contextlib

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from documents.actions.search import do_index_document, numbered_search_text, prepare_numbered_index
from documents.models import (
    Direction,
    DocNumberEntry,
    DocNumberSequence,
    DocNumberSeries,
    DocType,
    OfficialDocument,
)
from documents.numbering import STANDARD_FORMAT, check_series_format, render_series_number
from documents.selectors.numbering import (
    LIVE_STATES,
    allocation_facts,
    codes_of,
    live_entry_of,
    may_keep_numbers,
    number_format_of,
    owner_of_code,
    sequence_for,
    series_for_document,
)
from oa.actions.audit import do_record_audit, reserve_audit_chain
from oa.models import Agency, Person
from oa.refusals import Refusal
from oa.sqlwrites import insert_statement, update_statement

State = DocNumberEntry.State
REASON_MAX = DocNumberEntry._meta.get_field("reason").max_length
CODE_MAX = DocNumberSequence._meta.get_field("code").max_length

# A number is given after 签发 (条例 第二十五条: 复核 → 登记); a document whose number was voided may get a
# new one while it is still being typeset.
NUMBERABLE_STATUSES = frozenset(
    {OfficialDocument.Status.SIGNED, OfficialDocument.Status.NUMBERED, OfficialDocument.Status.TYPESET}
)
# Once copies have left the agency (or the file is archived) the number printed on them must stand.
NUMBER_FROZEN_STATUSES = frozenset({OfficialDocument.Status.DISTRIBUTED, OfficialDocument.Status.ARCHIVED})


# ---------------------------------------------------------------- validation helpers


def _reason(reason: str | None, act: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise Refusal("reason_required", f"请填写{act}原因")
    if len(text) > REASON_MAX:
        raise Refusal("reason_too_long", f"{act}原因不能超过{REASON_MAX}字")
    return text


def _check_code(code: str) -> None:
    if not isinstance(code, str) or len(code) > CODE_MAX:
        raise Refusal("invalid_code", f"机关代字不能超过{CODE_MAX}个字符")


def _number(code: str, year: int, seq: int, number_format: str | None = None) -> str:
    """The 文号 as its series prints it, or the refusal naming the broken part."""
    _check_code(code)
    try:
        return render_series_number(number_format or number_format_of(code), code, year, seq)
    except ValueError as exc:
        code_name = "invalid_year" if "年份" in str(exc) else "invalid_seq" if "序号" in str(exc) else "invalid_code"
        raise Refusal(code_name, f"文号无效：{exc}") from None


def _not_clerk(act: str) -> Refusal:
    return Refusal("not_clerk", f"只有本机关的文书（办公室）可以{act}", 403)


def _lock_document(document: OfficialDocument) -> OfficialDocument:
    # of=("self",): lock the document row only, not the joined agency row (which would serialise every
    # allocation of the agency behind one lock and hide what the sequence lock is for).
    return OfficialDocument.objects.select_for_update(of=("self",)).select_related("agency").get(pk=document.pk)


def _locked_sequence(code: str, year: int) -> DocNumberSequence | None:
    """The (code, year) row locked FOR UPDATE until the caller's transaction ends (None if never used)."""
    return (
        DocNumberSequence.objects.select_for_update(of=("self",)).select_related("agency")
        .filter(code=code, year=year).first()
    )


def _sequence_id(agency_id: int, code: str, year: int) -> int:
    """The id of the (code, year) row, created on first use, without locking it.

    Creation races are settled by the unique (code, year) constraint: the loser's INSERT waits for the
    winner's commit, fails, and the loser then reads the winner's row. The savepoint keeps that failure
    from poisoning the caller's transaction.
    """
    for _ in range(3):
        pk = DocNumberSequence.objects.filter(code=code, year=year).values_list("pk", flat=True).first()
        if pk is not None:
            return pk
        try:
            with transaction.atomic():
                return DocNumberSequence.objects.create(agency_id=agency_id, code=code, year=year).pk
        except IntegrityError:
            continue
    raise Refusal("sequence_busy", "文号序列正忙，请稍后重试", 503)


def _next_seq(sequence_id: int) -> int:
    """Lock the sequence row (until the caller's commit) and advance it, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE documents_docnumbersequence SET last = last + 1 WHERE id = %s RETURNING last",
                       [sequence_id])
        return cursor.fetchone()[0]


def _set_document_number(document: OfficialDocument, number: str, caller_copy: OfficialDocument | None = None) -> None:
    document.doc_number = number
    document.updated_at = timezone.now()
    document.save(update_fields=["doc_number", "updated_at"])
    do_index_document(document)  # the 文号 is what people search for first
    if caller_copy is not None:
        caller_copy.doc_number = number


def _entry_facts(entry: DocNumberEntry) -> dict:
    return {
        "number": entry.number,
        "code": entry.sequence.code,
        "year": entry.sequence.year,
        "seq": entry.seq,
        "document": entry.document_id,
    }


# ---------------------------------------------------------------- allocation


def do_allocate_doc_number(
    actor: Person, document: OfficialDocument, *, code: str | None = None, year: int | None = None
) -> DocNumberEntry:
    """Give ``document`` the next number of (code, year) and record it in the ledger.

    Call it inside the flow's registering transaction: it opens only a savepoint, so the number, the
    ledger row, the document's 文号 and the audit entry commit or roll back with the flow step.
    Idempotent per document: a document that already holds a live number gets that entry back unchanged
    (also across a change of year — a step re-entered on 1 January keeps last year's number); asking for a
    *different* (code, year) than the one it holds is refused.
    code defaults to the agency's 机关代字, year to the current year in Asia/Shanghai. Who may allocate is
    the caller's business (flows check their step; the UI and API use ``check_allocate_doc_number``).
    """
    # Nothing is written before the refusals below (only read and locked), so they leave the caller's transaction
    # usable without a savepoint of their own.
    outer = contextlib.nullcontext() if transaction.get_connection().in_atomic_block else transaction.atomic()
    with outer:
        doc = _lock_document(document)
        asked = (code, year)
        if code is None:
            # 函, 纪要 … take their series (docs/numbering.md §8); other 文种 the agency's 文件 series.
            series = series_for_document(doc)
            code = series.code if series is not None else doc.agency.doc_code
        year = timezone.localdate().year if year is None else year
        if not isinstance(code, str) or not isinstance(year, int):
            _number(code, year, 1, STANDARD_FORMAT)  # refuses, naming the broken part, before they reach SQL
        facts = allocation_facts(doc.pk, code, year)
        if facts.live_entry_id is not None:
            existing = DocNumberEntry.objects.select_related("sequence").get(pk=facts.live_entry_id)
            if (asked[0] is not None and asked[0] != existing.sequence.code) or (
                asked[1] is not None and asked[1] != existing.sequence.year
            ):
                raise Refusal(
                    "already_numbered", f"该公文已有文号“{existing.number}”，如需另行编号须先作废原文号", 409
                )
            document.doc_number = existing.number
            return existing
        _number(code, year, 1, facts.number_format)  # validates code and year before anything is written
        if facts.owner_id is not None and facts.owner_id != doc.agency_id:
            owner = Agency.objects.get(pk=facts.owner_id)
            raise Refusal("code_of_other_agency", f"机关代字“{code}”属于{owner.name}，不能用于本机关的公文")
        sequence_id = facts.sequence_id or _sequence_id(doc.agency_id, code, year)
        # Everything slow or that may wait is done before the sequence row is locked: the search tokens of the
        # document without its number, and the audit chain (taken without waiting).
        prepared = prepare_numbered_index(doc)
        reserve_audit_chain()

        # From here to the caller's commit, allocations of this series queue behind us: two statements, the
        # UPDATE that takes the number and one that writes the ledger entry, the 文号 and the audit entry.
        seq = _next_seq(sequence_id)
        number = _number(code, year, seq, facts.number_format)
        now = timezone.now()
        search_text = numbered_search_text(prepared, number)
        entry = DocNumberEntry(
            pk=facts.entry_id, sequence_id=sequence_id, seq=seq, number=number, state=State.ASSIGNED, document=doc,
            actor=actor, created_at=now, updated_at=now,
        )
        document_values = {"doc_number": number, "updated_at": now, "search_text": search_text}
        writes = []
        if facts.entry_id is None:  # no id drawn in advance (SQLite): the ORM's INSERT gives it
            entry.save(force_insert=True)
        else:
            writes.append(insert_statement(entry, with_pk=True))
            entry._state.adding, entry._state.db = False, connection.alias
        writes.append(update_statement(OfficialDocument, doc.pk, document_values))
        do_record_audit(actor=actor, action="docnumber.allocate", obj=entry, also=writes,
                        changes={"number": number, "code": code, "year": year, "seq": seq, "document": doc.pk,
                                 "title": doc.title})
        for name, value in document_values.items():
            setattr(doc, name, value)
        document.doc_number = number
        return entry


def check_allocate_doc_number(
    actor: Person, document: OfficialDocument, *, code: str | None = None, year: int | None = None
) -> DocNumberEntry:
    """编号 from the ledger page or the API: only the agency's 文书, only 已签发 outgoing documents, and only
    with one of the agency's own 机关代字."""
    with transaction.atomic():
        doc = _lock_document(document)
        if not may_keep_numbers(actor, doc.agency_id):
            raise _not_clerk("编发文字号")
        if doc.direction != Direction.OUTGOING:
            raise Refusal("not_outgoing", "收文和内部文件保留原有文号，不在本机关编号")
        if live_entry_of(doc) is None:
            if doc.status not in NUMBERABLE_STATUSES:
                raise Refusal("not_signed", f"公文当前为“{doc.get_status_display()}”，签发后才能编号")
            if code is not None and code not in codes_of(doc.agency):
                raise Refusal("unknown_code", f"“{code}”不是{doc.agency.name}的机关代字")
        return do_allocate_doc_number(actor, document, code=code, year=year)


# ---------------------------------------------------------------- the ledger


def check_void_doc_number(actor: Person, entry: DocNumberEntry, reason: str) -> DocNumberEntry:
    """作废: the document loses its number; the entry stays in the ledger as voided and the number is never
    used again (not by allocation, which only moves forward, and not by 补号)."""
    reason = _reason(reason, "作废")
    with transaction.atomic():
        document_id = DocNumberEntry.objects.filter(pk=entry.pk).values_list("document_id", flat=True).get()
        doc = OfficialDocument.objects.select_for_update().get(pk=document_id) if document_id else None
        entry = DocNumberEntry.objects.select_for_update(of=("self",)).select_related("sequence").get(pk=entry.pk)
        if not may_keep_numbers(actor, entry.sequence.agency_id):
            raise _not_clerk("作废文号")
        if entry.state not in LIVE_STATES or doc is None:
            raise Refusal(
                "not_in_use", f"“{entry.number}”当前为{entry.get_state_display()}，只能作废已使用的文号"
            )
        if doc.status in NUMBER_FROZEN_STATUSES:
            raise Refusal(
                "document_issued", f"公文“{doc.title}”已{doc.get_status_display()}，其文号不能作废", 409
            )
        previous = entry.state
        entry.state = State.VOIDED
        entry.reason = reason
        entry.actor = actor
        entry.save(update_fields=["state", "reason", "actor", "updated_at"])
        if doc.doc_number == entry.number:
            _set_document_number(doc, "")
        entry.document = doc
        do_record_audit(actor=actor, action="docnumber.void", obj=entry,
                        changes={**_entry_facts(entry), "from": previous, "reason": reason, "title": doc.title})
        return entry


def check_mark_blank(actor: Person, code: str, year: int, seq: int, reason: str) -> DocNumberEntry:
    """空号: record a number that was skipped (e.g. issued on paper elsewhere) so the gap is explained.
    Only for a number already passed by the sequence (seq ≤ last) that has no ledger entry yet."""
    reason = _reason(reason, "空号")
    number = _number(code, year, seq)
    existing = sequence_for(code, year)
    owner = existing.agency if existing is not None else owner_of_code(code)
    if owner is None or not may_keep_numbers(actor, owner):
        raise _not_clerk("登记空号")
    with transaction.atomic():
        sequence = _locked_sequence(code, year)
        last = sequence.last if sequence is not None else 0
        if seq > last:
            raise Refusal("not_a_gap", f"“{number}”尚未编出（{code}〔{year}〕已编至{last}号），不能登记为空号")
        _refuse_taken(DocNumberEntry.objects.filter(sequence=sequence, seq=seq).first(), "登记为空号")
        entry = DocNumberEntry.objects.create(
            sequence=sequence, seq=seq, number=number, state=State.BLANK, reason=reason, actor=actor
        )
        do_record_audit(actor=actor, action="docnumber.blank", obj=entry,
                        changes={**_entry_facts(entry), "reason": reason})
        return entry


def _refuse_taken(entry: DocNumberEntry | None, act: str) -> None:
    """Refuse a number that already has a ledger entry other than 空号 (and 空号 too when marking one)."""
    if entry is None:
        return
    if entry.state in LIVE_STATES:
        title = entry.document.title if entry.document_id else ""
        raise Refusal("number_in_use", f"“{entry.number}”已被公文“{title}”使用，不能{act}", 409)
    if entry.state == State.VOIDED:
        raise Refusal("number_voided", f"“{entry.number}”已作废，作废的文号不得再用", 409)
    if act == "登记为空号":
        raise Refusal("number_blank", f"“{entry.number}”已登记为空号", 409)


def check_backfill_doc_number(
    actor: Person, document: OfficialDocument, code: str, year: int, seq: int, reason: str
) -> DocNumberEntry:
    """补号: give ``document`` a number the sequence has already passed — a gap (no ledger entry) or a
    空号 — never one that is in use or voided. The entry becomes a backfilled (live) one."""
    reason = _reason(reason, "补号")
    number = _number(code, year, seq)
    with transaction.atomic():
        doc = _lock_document(document)
        if not may_keep_numbers(actor, doc.agency_id):
            raise _not_clerk("补号")
        if doc.direction != Direction.OUTGOING:
            raise Refusal("not_outgoing", "收文和内部文件保留原有文号，不在本机关编号")
        if doc.status not in NUMBERABLE_STATUSES:
            raise Refusal("not_signed", f"公文当前为“{doc.get_status_display()}”，签发后才能补号")
        existing = live_entry_of(doc)
        if existing is not None:
            raise Refusal(
                "already_numbered", f"该公文已有文号“{existing.number}”，如需补号须先作废原文号", 409
            )
        sequence = _locked_sequence(code, year)
        owner = sequence.agency if sequence is not None else owner_of_code(code)
        if owner is not None and owner.pk != doc.agency_id:
            raise Refusal("code_of_other_agency", f"机关代字“{code}”属于{owner.name}，不能用于本机关的公文")
        last = sequence.last if sequence is not None else 0
        if seq > last:
            raise Refusal(
                "not_a_gap", f"“{number}”尚未编出（{code}〔{year}〕已编至{last}号），不是空缺号，请直接编号"
            )
        entry = DocNumberEntry.objects.select_for_update().filter(sequence=sequence, seq=seq).first()
        _refuse_taken(entry, "补号")
        if entry is None:
            previous = {"from": "gap"}
            entry = DocNumberEntry(sequence=sequence, seq=seq, number=number)
        else:
            previous = {"from": State.BLANK, "blank_reason": entry.reason, "blank_actor": entry.actor_id}
        entry.state = State.BACKFILLED
        entry.document = doc
        entry.reason = reason
        entry.actor = actor
        entry.save()
        _set_document_number(doc, number, document)
        do_record_audit(actor=actor, action="docnumber.backfill", obj=entry,
                        changes={**_entry_facts(entry), **previous, "reason": reason, "title": doc.title})
        return entry


# ---------------------------------------------------------------- 文号序列 (series per 文种)

SERIES_NAME_MAX = DocNumberSeries._meta.get_field("name").max_length
SERIES_MARK_MAX = DocNumberSeries._meta.get_field("issuer_mark").max_length


def check_configure_series(
    actor: Person | None, agency: Agency, *, name: str, code: str, number_format: str, doc_types: list[str],
    issuer_mark: str = "", is_active: bool = True, series: DocNumberSeries | None = None,
) -> DocNumberSeries:
    """Create (or, given ``series``, change) one of the agency's 文号序列. ``actor`` None is the deployment itself
    (the demo seed); a person must be the agency's 文书. Nothing is written when any part is refused."""
    if actor is not None and not may_keep_numbers(actor, agency):
        raise _not_clerk("设置文号序列")
    name = (name or "").strip()
    if not name:
        raise Refusal("series_name_required", "请填写序列名称，如“区政府办函”")
    if len(name) > SERIES_NAME_MAX:
        raise Refusal("series_name_too_long", f"序列名称不能超过{SERIES_NAME_MAX}字")
    code = (code or "").strip()
    _number(code, 2000, 1, "{代字}〔{年}〕{号}号")  # the 代字 itself: no brackets, blanks, control characters
    types = list(dict.fromkeys(doc_types or []))
    if not types:
        raise Refusal("series_doc_types_required", "请选择使用该序列的文种")
    bad = [t for t in types if t not in DocType.values]
    if bad:
        raise Refusal("series_doc_types_invalid", f"“{bad[0]}”不是条例规定的文种")
    try:
        check_series_format(number_format, minutes_only=types == [DocType.MINUTES])
    except ValueError as exc:
        code_name = "series_format_no_year" if "缺少年份" in str(exc) else "series_format_invalid"
        raise Refusal(code_name, f"文号格式有误：{exc}") from None
    issuer_mark = (issuer_mark or "").strip()
    if len(issuer_mark) > SERIES_MARK_MAX:
        raise Refusal("series_mark_too_long", f"发文机关标志不能超过{SERIES_MARK_MAX}字")
    if DocType.MINUTES in types and issuer_mark and not issuer_mark.endswith("纪要"):
        raise Refusal("series_mark_invalid", "纪要标志由“×××××纪要”组成（GB/T 9704 §10.3），须以“纪要”结尾")
    with transaction.atomic():
        owner = owner_of_code(code)
        if owner is not None and owner.pk != agency.pk:
            raise Refusal("code_of_other_agency", f"机关代字“{code}”属于{owner.name}，不能用于本机关的序列")
        taken = DocNumberSeries.objects.filter(code=code).exclude(pk=series.pk if series else None).first()
        if taken is not None:
            raise Refusal("series_code_taken", f"机关代字“{code}”已用于序列“{taken.name}”")
        if code == agency.doc_code:
            raise Refusal("series_code_taken", f"“{code}”是本机关文件序列的代字，函、纪要等须另设代字（如“{code}函”）")
        if is_active:
            # One series per 文种 (纪要 excepted: each meeting body numbers its own, the drafter picks one).
            others = DocNumberSeries.objects.filter(agency=agency, is_active=True).exclude(
                pk=series.pk if series else None)
            for other in others:
                clash = [t for t in types if t != DocType.MINUTES and t in (other.doc_types or [])]
                if clash:
                    raise Refusal("series_doc_type_taken",
                                  f"本机关的“{DocType(clash[0]).label}”已由序列“{other.name}”编号，一个文种只能用一个序列")
        if series is not None and series.code != code and DocNumberSequence.objects.filter(code=series.code).exists():
            raise Refusal("series_code_in_use", f"序列“{series.name}”已编过号，机关代字不能再改（可停用后另设新序列）")
        row = series or DocNumberSeries(agency=agency)
        before = {f: getattr(row, f) for f in ("name", "code", "number_format", "doc_types", "issuer_mark",
                                               "is_active")} if series else {}
        row.name, row.code, row.number_format, row.doc_types = name, code, number_format, types
        row.issuer_mark, row.is_active = issuer_mark, is_active
        row.save()
        do_record_audit(actor=actor, actor_name="" if actor else "系统", action="docnumber.series", obj=row,
                        changes={"agency": agency.name, "name": name, "code": code, "format": number_format,
                                 "doc_types": types, "issuer_mark": issuer_mark, "active": is_active,
                                 **({"before": before} if before else {})})
        return row


# The demo district's series (docs/numbering.md §8): 函 and 纪要 for 区政府 and 区府办, by 机关代字 of the agency.
DEMO_SERIES = (
    ("揭东府", "区政府函", "揭东府函", "{代字}〔{年}〕{号}号", [DocType.LETTER], ""),
    ("揭东府", "区人民政府常务会议纪要", "揭东府常纪", "〔{年}〕{号}号", [DocType.MINUTES],
     "揭阳市揭东区人民政府常务会议纪要"),
    ("揭东府办", "区政府办函", "揭东府办函", "{代字}〔{年}〕{号}号", [DocType.LETTER], ""),
    ("揭东府办", "区府办主任办公会议纪要", "揭东府办纪", "{年}年第{号}期", [DocType.MINUTES],
     "揭东区人民政府办公室主任办公会议纪要"),
)


def do_seed_demo_series() -> int:
    """Idempotent: the demo series that do not exist yet (by 代字) are created; returns how many were."""
    made = 0
    for agency_code, name, code, number_format, doc_types, mark in DEMO_SERIES:
        agency = Agency.objects.filter(doc_code=agency_code).first()
        if agency is None or DocNumberSeries.objects.filter(code=code).exists():
            continue
        check_configure_series(None, agency, name=name, code=code, number_format=number_format,
                               doc_types=list(doc_types), issuer_mark=mark)
        made += 1
    return made
