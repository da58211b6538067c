"""Reads of the 正文: current state for the editor, the version list, and 痕迹 (tracked changes) between versions.

Callers pass a document they already loaded through ``access_document_by_id``; nothing here checks visibility.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from documents.body import blocks_with_ordinals, empty_body, tracked_diff
from documents.models import BodyVersion, OfficialDocument
from oa.refusals import Refusal

# One colour class per author (documents/static/documents/editor.css) plus a circled number as a text marker,
# so who changed what is never told by colour alone.
AUTHOR_COLOURS = 6
AUTHOR_MARKS = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def body_versions(document: OfficialDocument) -> QuerySet[BodyVersion]:
    """Newest first, with authors (the version list)."""
    return (BodyVersion.objects.filter(document=document).select_related("author", "marked_up_from", "baseline")
            .order_by("-number"))


def get_body_version(document: OfficialDocument, number: int) -> BodyVersion:
    try:
        return BodyVersion.objects.select_related("author").get(document=document, number=number)
    except BodyVersion.DoesNotExist:
        raise Refusal("version_not_found", f"第{number}版不存在", status=404) from None


def version_info(version: BodyVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    at = timezone.localtime(version.last_saved_at)
    return {
        "number": version.number,
        "etag": version.etag,  # the If-Match value for this state ("5", or "5.3" after in-session autosaves)
        "revision": version.revision,
        "kind": version.kind,
        "kind_label": version.get_kind_display(),
        "author": version.author.get_full_name(),
        "author_id": version.author_id,
        "at": at.isoformat(),
        "time": at.strftime("%H:%M"),
        "step": version.step,
        "sha256": version.sha256,
    }


def body_state(document: OfficialDocument) -> dict[str, Any]:
    """What the editor loads: the current version (or none yet) and its content."""
    current = None
    if document.current_body_id:
        current = BodyVersion.objects.select_related("author").get(pk=document.current_body_id)
    return {
        "document": document.pk,
        "version": version_info(current),
        "content": current.content if current else empty_body(),
    }


def current_version(document: OfficialDocument) -> BodyVersion | None:
    if not document.current_body_id:
        return None
    return BodyVersion.objects.select_related("author").get(pk=document.current_body_id)


def current_number(document: OfficialDocument) -> int:
    return document.current_body.number if document.current_body_id else 0


def display_blocks(document: OfficialDocument) -> list[dict[str, Any]]:
    """The current 正文 for a read-only view, with generated ordinals."""
    return blocks_with_ordinals(document.current_body.content if document.current_body_id else None)


def markup_range(version: BodyVersion) -> tuple[int, int]:
    """(from, to) that shows this version's 痕迹: for a 清稿 the marked-up 花脸稿 it was made from, measured from
    that draft's own baseline; otherwise the version measured from its baseline (last 清稿 or version 1)."""
    shown = version.marked_up_from if version.kind == BodyVersion.Kind.CLEAN and version.marked_up_from else version
    base = shown.baseline or shown
    return base.number, shown.number


def _chain(document: OfficialDocument, lo: int, hi: int) -> list[BodyVersion]:
    """The versions from ``lo`` to ``hi`` inclusive, following parent links back from ``hi``."""
    by_id = {v.pk: v for v in BodyVersion.objects.filter(document=document, number__gte=lo, number__lte=hi)
             .select_related("author")}
    by_number = {v.number: v for v in by_id.values()}
    if lo not in by_number:
        raise Refusal("version_not_found", f"第{lo}版不存在", status=404)
    if hi not in by_number:
        raise Refusal("version_not_found", f"第{hi}版不存在", status=404)
    chain = [by_number[hi]]
    while chain[-1].number != lo:
        parent = by_id.get(chain[-1].parent_id)
        if parent is None:  # not an ancestor (cannot happen with linear history): compare the two directly
            return [by_number[lo], by_number[hi]]
        chain.append(parent)
    return chain[::-1]


def body_diff(document: OfficialDocument, from_number: int, to_number: int) -> dict[str, Any]:
    """痕迹 between two versions (either order; the older is the base), each change attributed to the author of
    the version that made it. Blocks/spans carry ``by`` = a change dict {version, author, css, mark, title}."""
    lo, hi = sorted((from_number, to_number))
    chain = _chain(document, lo, hi)
    result = tracked_diff(chain[0].content, [(v.number, v.content) for v in chain[1:]])
    versions = {v.number: v for v in chain}

    authors: dict[int, dict[str, Any]] = {}
    changes: dict[int, dict[str, Any]] = {}
    for number in result["keys"]:
        version = versions[number]
        author = authors.get(version.author_id)
        if author is None:
            index = len(authors)
            author = authors[version.author_id] = {
                "name": version.author.get_full_name(),
                "css": f"trk-a{index % AUTHOR_COLOURS + 1}",
                "mark": AUTHOR_MARKS[index % len(AUTHOR_MARKS)],
                "versions": [],
            }
        at = timezone.localtime(version.created_at)
        author["versions"].append({"number": number, "at": at})
        changes[number] = {
            "version": number, "author": author["name"], "css": author["css"], "mark": author["mark"], "at": at,
            "title": f"{author['name']} · 第{number}版 · {at:%Y-%m-%d %H:%M}",
        }

    def attach(item: dict[str, Any]) -> None:
        if item.get("by") is not None:
            item["by"] = changes[item["by"]]
        for key in ("level_change", "header_change"):
            if item.get(key):
                item[key]["by"] = changes[item[key]["by"]]
        for span in item.get("spans", ()):
            if span["by"] is not None:
                span["by"] = changes[span["by"]]
        for child in item.get("rows", ()) or item.get("cells", ()):
            attach(child)

    for block in result["blocks"]:
        attach(block)
    return {
        "from": versions[lo],
        "to": versions[hi],
        "reversed": from_number > to_number,
        "blocks": result["blocks"],
        "authors": list(authors.values()),
        "changes": result["changes"],
        "steps": len(chain) - 1,
    }
