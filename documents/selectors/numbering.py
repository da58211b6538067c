"""文号 reads: who may see or keep an agency's number ledger, the ledger itself and the gap report."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from documents.models import Direction, DocNumberEntry, DocNumberSequence, DocNumberSeries, OfficialDocument
from documents.numbering import STANDARD_FORMAT, DocNumber
from documents.selectors.documents import documents_visible_to
from oa.models import Agency, Person, Role, RoleAssignment
from oa.refusals import Refusal

# 文书 keep the ledger (条例 第二十五条: 登记 — 确定发文字号); 主要负责人 may look at it.
KEEPER_ROLES = (Role.CLERK,)
VIEWER_ROLES = (Role.CLERK, Role.PRINCIPAL)

LIVE_STATES = (DocNumberEntry.State.ASSIGNED, DocNumberEntry.State.BACKFILLED)


def _agency_ids_with(person: Person, roles: tuple[str, ...]) -> set[int]:
    if not person.is_authenticated or not person.is_active:
        return set()
    return set(RoleAssignment.objects.filter(person=person, role__in=roles).values_list("agency_id", flat=True))


def may_keep_numbers(person: Person, agency: Agency | int) -> bool:
    """May allocate, void, mark blank and backfill numbers of ``agency``: its 文书 (Role.CLERK)."""
    agency_id = agency if isinstance(agency, int) else agency.pk
    return agency_id in _agency_ids_with(person, KEEPER_ROLES)


def may_view_numbers(person: Person, agency: Agency | int) -> bool:
    agency_id = agency if isinstance(agency, int) else agency.pk
    return agency_id in _agency_ids_with(person, VIEWER_ROLES)


def numbering_agencies_for(person: Person) -> list[Agency]:
    """Agencies whose ledger ``person`` may see, in directory order."""
    return list(Agency.objects.filter(pk__in=_agency_ids_with(person, VIEWER_ROLES)).order_by("sort_order", "id"))


def sequence_for(code: str, year: int) -> DocNumberSequence | None:
    return DocNumberSequence.objects.select_related("agency").filter(code=code, year=year).first()


def owner_of_code(code: str) -> Agency | None:
    """The agency a 机关代字 belongs to: the one that already numbers with it, else the one whose
    directory entry or 文号序列 carries it."""
    seq = DocNumberSequence.objects.select_related("agency").filter(code=code).order_by("-year").first()
    if seq is not None:
        return seq.agency
    series = DocNumberSeries.objects.select_related("agency").filter(code=code).first()
    if series is not None:
        return series.agency
    return Agency.objects.filter(doc_code=code).first()


# ---------------------------------------------------------------- 文号序列 (series per 文种)


def series_of_agency(agency: Agency | int, *, active_only: bool = True) -> list[DocNumberSeries]:
    agency_id = agency if isinstance(agency, int) else agency.pk
    rows = DocNumberSeries.objects.filter(agency_id=agency_id)
    if active_only:
        rows = rows.filter(is_active=True)
    return list(rows.order_by("id"))  # the first configured is the default when several fit


def series_choices_for(agency: Agency | int, doc_type: str) -> list[DocNumberSeries]:
    """The agency's active series a document of ``doc_type`` may take (several for 纪要: one per meeting body)."""
    return [s for s in series_of_agency(agency) if doc_type in (s.doc_types or [])]


def series_by_code(code: str) -> DocNumberSeries | None:
    return DocNumberSeries.objects.select_related("agency").filter(code=code).first()


def series_for_document(document: OfficialDocument) -> DocNumberSeries | None:
    """The series a document is numbered in: the one chosen at drafting when it still applies, else the
    agency's first active series for the 文种; None means the agency's 文件 series (机关代字, standard format)."""
    chosen = document.number_series if document.number_series_id else None
    if chosen is not None and chosen.is_active and chosen.agency_id == document.agency_id \
            and document.doc_type in (chosen.doc_types or []):
        return chosen
    found = series_choices_for(document.agency_id, document.doc_type)
    return found[0] if found else None


@dataclass(frozen=True)
class AllocationFacts:
    """What allocating a number of (code, year) needs to know before it locks anything."""

    number_format: str
    owner_id: int | None  # owner_of_code(code), as an id
    sequence_id: int | None  # the (code, year) row, None before its first number
    entry_id: int | None  # a fresh id for the ledger entry (PostgreSQL only), so the audit entry can name it
    live_entry_id: int | None  # the number the document holds already (live_entry_of), if any


def allocation_facts(document_id: int, code: str, year: int) -> AllocationFacts:
    """live_entry_of, number_format_of, owner_of_code and the sequence id in one query (the 文号 hot path,
    docs/numbering.md); on PostgreSQL it also draws the ledger entry's id from its sequence."""
    q = connection.ops.quote_name
    series, sequence = q(DocNumberSeries._meta.db_table), q(DocNumberSequence._meta.db_table)
    agency, entry = q(Agency._meta.db_table), DocNumberEntry._meta.db_table
    live = ", ".join(["%s"] * len(LIVE_STATES))
    next_id = f", nextval(pg_get_serial_sequence('{entry}', 'id'))" if connection.vendor == "postgresql" else ""
    sql = (  # table names from the models' metadata; code and year are parameters
        f"SELECT (SELECT number_format FROM {series} WHERE code = %s), "  # noqa: S608
        f"COALESCE((SELECT agency_id FROM {sequence} WHERE code = %s ORDER BY year DESC LIMIT 1), "
        f"(SELECT agency_id FROM {series} WHERE code = %s), "
        f"(SELECT id FROM {agency} WHERE doc_code = %s ORDER BY sort_order, id LIMIT 1)), "
        f"(SELECT id FROM {sequence} WHERE code = %s AND year = %s), "
        f"(SELECT id FROM {q(entry)} WHERE document_id = %s AND state IN ({live}) ORDER BY id DESC LIMIT 1)"
        f"{next_id}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [code, code, code, code, code, year, document_id, *LIVE_STATES])
        row = cursor.fetchone()
    return AllocationFacts(number_format=row[0] or STANDARD_FORMAT, owner_id=row[1], sequence_id=row[2],
                           live_entry_id=row[3], entry_id=row[4] if next_id else None)


def number_format_of(code: str) -> str:
    """How numbers of 代字 ``code`` are printed: its series' format, else the standard 代字〔年〕N号."""
    series = series_by_code(code)
    return series.number_format if series is not None else STANDARD_FORMAT


@dataclass(frozen=True)
class Ledger:
    """One (机关代字, 年) as a person may see it; ``sequence`` is None until the first number."""

    agency: Agency
    code: str
    year: int
    sequence: DocNumberSequence | None
    can_keep: bool


def access_ledger(person: Person, code: str, year: int) -> Ledger:
    """The ledger of (code, year), or Http404 when the code is unknown or ``person`` may not see it."""
    if not 1000 <= year <= 9999:  # no 文号 can carry such a year (and the column is a small integer)
        raise Http404("文号台账不存在或无权查看")
    seq = sequence_for(code, year)
    agency = seq.agency if seq is not None else owner_of_code(code)
    if agency is None or not may_view_numbers(person, agency):
        raise Http404("文号台账不存在或无权查看")
    return Ledger(agency=agency, code=code, year=year, sequence=seq, can_keep=may_keep_numbers(person, agency))


def codes_of(agency: Agency) -> list[str]:
    """The agency's 机关代字: its directory code first, then any other it has numbered with."""
    codes = [agency.doc_code] if agency.doc_code else []
    codes += [s.code for s in series_of_agency(agency) if s.code not in codes]
    for code in DocNumberSequence.objects.filter(agency=agency).order_by("code").values_list("code", flat=True):
        if code not in codes:
            codes.append(code)
    return codes


def years_of(agency: Agency, code: str) -> list[int]:
    return list(
        DocNumberSequence.objects.filter(agency=agency, code=code).order_by("-year").values_list("year", flat=True)
    )


def ledger_entries(sequence: DocNumberSequence | None) -> QuerySet[DocNumberEntry]:
    if sequence is None:
        return DocNumberEntry.objects.none()
    return sequence.entries.select_related("document", "actor").order_by("seq")


def entry_for_number(number: DocNumber) -> DocNumberEntry:
    """The ledger entry of a 文号 (the caller has checked the person may see that ledger)."""
    entry = (
        DocNumberEntry.objects.select_related("sequence", "document")
        .filter(sequence__code=number.code, sequence__year=number.year, seq=number.seq)
        .first()
    )
    if entry is None:
        raise Refusal("number_not_found", f"“{number}”在台账中没有记录（尚未使用），无需作废")
    return entry


def live_entry_of(document: OfficialDocument) -> DocNumberEntry | None:
    """The number a document holds now (at most one, whatever the sequence)."""
    return (
        DocNumberEntry.objects.select_related("sequence")
        .filter(document=document, state__in=LIVE_STATES)
        .order_by("-id")
        .first()
    )


def documents_awaiting_number(person: Person, agency: Agency) -> QuerySet[OfficialDocument]:
    """已签发 outgoing documents of the agency that hold no number yet (the clerk's 登记 list)."""
    return documents_visible_to(person).filter(
        agency=agency,
        direction=Direction.OUTGOING,
        status=OfficialDocument.Status.SIGNED,
        doc_number="",
    ).order_by("created_at", "id")


@dataclass(frozen=True)
class SkippedNumber:
    seq: int
    number: str
    state: str
    reason: str
    actor: str
    at: str
    document_id: int | None


@dataclass
class GapReport:
    code: str
    year: int
    last: int
    counts: dict[str, int]
    gaps: list[int]  # seq in 1..last with no ledger entry at all
    voided: list[SkippedNumber] = field(default_factory=list)
    blank: list[SkippedNumber] = field(default_factory=list)

    @property
    def gap_ranges(self) -> list[tuple[int, int]]:
        """Gaps folded into runs, for display ("3–7" rather than five numbers)."""
        runs: list[tuple[int, int]] = []
        for s in self.gaps:
            if runs and runs[-1][1] == s - 1:
                runs[-1] = (runs[-1][0], s)
            else:
                runs.append((s, s))
        return runs

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "year": self.year,
            "last": self.last,
            "counts": self.counts,
            "gaps": self.gaps,
            "voided": [vars(s) for s in self.voided],
            "blank": [vars(s) for s in self.blank],
        }


def gap_report(code: str, year: int) -> GapReport:
    """What happened to every number 1..last of (code, year): counts per state, numbers never entered
    in the ledger (gaps), and the voided and blank ones with their reasons."""
    seq = sequence_for(code, year)
    counts = {state: 0 for state in DocNumberEntry.State.values}
    if seq is None:
        return GapReport(code=code, year=year, last=0, counts=counts, gaps=[])
    rows = list(
        seq.entries.order_by("seq").values(
            "seq", "number", "state", "reason", "actor__name", "updated_at", "document_id"
        )
    )
    present = set()
    voided, blank = [], []
    for r in rows:
        counts[r["state"]] += 1
        present.add(r["seq"])
        if r["state"] in (DocNumberEntry.State.VOIDED, DocNumberEntry.State.BLANK):
            item = SkippedNumber(
                seq=r["seq"], number=r["number"], state=r["state"], reason=r["reason"], actor=r["actor__name"],
                at=r["updated_at"].isoformat(), document_id=r["document_id"],
            )
            (voided if r["state"] == DocNumberEntry.State.VOIDED else blank).append(item)
    gaps = [s for s in range(1, seq.last + 1) if s not in present]
    return GapReport(code=code, year=year, last=seq.last, counts=counts, gaps=gaps, voided=voided, blank=blank)


# ---------------------------------------------------------------- 文号序列设置 page (the 文书 only)


def series_agencies_for(person: Person) -> list[Agency]:
    """Agencies whose 文号序列 ``person`` may configure: those where they are the 文书, in directory order."""
    return list(Agency.objects.filter(pk__in=_agency_ids_with(person, KEEPER_ROLES)).order_by("sort_order", "id"))


def access_series_agency(person: Person, agency_id: int | None) -> Agency:
    """The agency whose series the page shows: ``agency_id`` when ``person`` is its 文书, else their first.
    Refused with 403 when they are no agency's 文书 (the page is theirs alone)."""
    agencies = series_agencies_for(person)
    if not agencies:
        raise Refusal("not_clerk", "只有本机关的文书（办公室）可以设置文号序列", 403)
    for agency in agencies:
        if agency.pk == agency_id:
            return agency
    if agency_id:
        raise Refusal("not_clerk", "只有该机关的文书（办公室）可以设置它的文号序列", 403)
    return agencies[0]


def access_series(person: Person, series_id: int) -> DocNumberSeries:
    """One series for editing: 404 unless it exists and ``person`` is the 文书 of its agency."""
    series = DocNumberSeries.objects.select_related("agency").filter(pk=series_id).first()
    if series is None or not may_keep_numbers(person, series.agency_id):
        raise Http404("文号序列不存在或无权设置")
    return series
