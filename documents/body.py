"""The structured 正文 format stored in ``BodyVersion.content``: validation, canonical form, and renderer blocks.

    {"blocks": [{"type": "p", "level": 0, "text": "…"},
                {"type": "table", "rows": [["…", "…"], …], "header": true}]}

``level`` 0 is a plain paragraph; 1–4 are the headings 一、/（一）/1./（1） of GB/T 9704 §7.3.3. The ordinal is
generated from the level when rendering, so heading text never carries its own "一、": an ordinal of the block's
own style is stripped, one of another style is refused (it would mean the level was chosen wrongly).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from difflib import SequenceMatcher
from typing import Any

from documents.rendering.spec import BodyBlock, TableBlock, heading_prefix
from oa.refusals import Refusal

# Limits: generous for a 公文 (a long 报告 is ~30 000 characters), small enough that one save stays cheap.
MAX_BLOCKS = 3000
MAX_PARAGRAPH_CHARS = 10_000
MAX_BODY_CHARS = 300_000
MAX_TABLE_ROWS = 300
MAX_TABLE_COLS = 30
MAX_CELL_CHARS = 2_000

LEVEL_NAMES = {0: "正文", 1: "一级标题（一、）", 2: "二级标题（（一））", 3: "三级标题（1.）", 4: "四级标题（（1））"}

_CN_NUM = "一二三四五六七八九十百零〇"
# Leading ordinal of each heading style, as people type them (full- or half-width brackets and dots).
ORDINAL_PATTERNS: dict[int, re.Pattern[str]] = {
    1: re.compile(rf"^[{_CN_NUM}]+、\s*"),
    2: re.compile(rf"^[（(][{_CN_NUM}]+[）)]\s*"),
    3: re.compile(r"^[0-9０-９]+[.．、](?![0-9０-９])\s*"),
    4: re.compile(r"^[（(][0-9０-９]+[）)]\s*"),
}

# Leading/trailing blanks people paste (full-width 　 indents included): the renderer indents paragraphs itself.
EDGE_SPACE = " \t\u3000\u00a0"


def detect_ordinal(text: str) -> tuple[int, str] | None:
    """(level, ordinal as typed) if ``text`` starts with a heading ordinal, else None."""
    for level, pattern in ORDINAL_PATTERNS.items():
        match = pattern.match(text)
        if match:
            return level, match.group(0).strip()
    return None


def empty_body() -> dict[str, Any]:
    return {"blocks": []}


def _where(index: int) -> str:
    return f"第{index + 1}块"


def _check_chars(text: str, where: str, kind: str) -> None:
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            if ch in "\r\n":
                raise Refusal("body_line_break", f"{where}{kind}中有换行；每个自然段请单独成段（按回车新建段落）")
            raise Refusal("body_control_char", f"{where}{kind}中含有不可见的控制字符，请删除后再保存")


def _clean_paragraph(index: int, block: dict[str, Any]) -> dict[str, Any]:
    where = _where(index)
    level = block.get("level", 0)
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVEL_NAMES:
        raise Refusal("body_bad_level", f"{where}的层次无效：须为 0（正文）或 1–4（一、/（一）/1./（1））")
    text = block.get("text", "")
    if not isinstance(text, str):
        raise Refusal("body_bad_text", f"{where}的文字格式无效")
    text = unicodedata.normalize("NFC", text).strip(EDGE_SPACE)
    _check_chars(text, where, "文字")
    if len(text) > MAX_PARAGRAPH_CHARS:
        raise Refusal("body_paragraph_too_long",
                            f"{where}有{len(text)}字，超过单段{MAX_PARAGRAPH_CHARS}字的上限，请分段")
    if level:
        found = detect_ordinal(text)
        if found and found[0] == level:
            text = ORDINAL_PATTERNS[level].sub("", text, count=1).strip(EDGE_SPACE)
        elif found:
            own = heading_prefix(level, 1)
            raise Refusal(
                "body_heading_ordinal",
                f"{where}设为{LEVEL_NAMES[level]}，但文字以“{found[1]}”开头。序号（如“{own}”）由系统按层次自动生成，"
                f"请删去“{found[1]}”，或把层次改为{LEVEL_NAMES[found[0]]}",
            )
    return {"type": "p", "level": level, "text": text}


def _clean_table(index: int, block: dict[str, Any]) -> dict[str, Any]:
    where = _where(index)
    rows = block.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
        raise Refusal("body_bad_table", f"{where}（表格）至少要有一行一列")
    if len(rows) > MAX_TABLE_ROWS:
        raise Refusal("body_table_too_large", f"{where}（表格）有{len(rows)}行，超过{MAX_TABLE_ROWS}行的上限")
    width = len(rows[0])
    if width > MAX_TABLE_COLS:
        raise Refusal("body_table_too_large", f"{where}（表格）有{width}列，超过{MAX_TABLE_COLS}列的上限")
    clean_rows: list[list[str]] = []
    for r, row in enumerate(rows, start=1):
        if len(row) != width:
            raise Refusal("body_table_ragged", f"{where}（表格）第{r}行有{len(row)}格，与第1行的{width}格不一致")
        clean_row = []
        for c, cell in enumerate(row, start=1):
            if not isinstance(cell, str):
                raise Refusal("body_bad_table", f"{where}（表格）第{r}行第{c}列的内容格式无效")
            cell = unicodedata.normalize("NFC", cell).strip(EDGE_SPACE)
            _check_chars(cell, f"{where}（表格）第{r}行第{c}列", "")
            if len(cell) > MAX_CELL_CHARS:
                raise Refusal("body_cell_too_long",
                                    f"{where}（表格）第{r}行第{c}列超过{MAX_CELL_CHARS}字的上限")
            clean_row.append(cell)
        clean_rows.append(clean_row)
    header = block.get("header", True)
    if not isinstance(header, bool):
        raise Refusal("body_bad_table", f"{where}（表格）的表头标记无效")
    return {"type": "table", "rows": clean_rows, "header": header}


def normalize_body(content: Any) -> dict[str, Any]:
    """Validate ``content`` and return its canonical form, or raise Refusal with a specific message."""
    if not isinstance(content, dict) or not isinstance(content.get("blocks"), list):
        raise Refusal("body_invalid", "正文格式无效：须为 {\"blocks\": [...]}")
    blocks = content["blocks"]
    if len(blocks) > MAX_BLOCKS:
        raise Refusal("body_too_many_blocks", f"正文共{len(blocks)}段，超过{MAX_BLOCKS}段的上限")
    out: list[dict[str, Any]] = []
    total = 0
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise Refusal("body_invalid", f"{_where(index)}格式无效")
        kind = block.get("type", "p")
        if kind == "p":
            clean = _clean_paragraph(index, block)
            total += len(clean["text"])
        elif kind == "table":
            clean = _clean_table(index, block)
            total += sum(len(cell) for row in clean["rows"] for cell in row)
        else:
            raise Refusal("body_bad_type", f"{_where(index)}的类型“{kind}”无效：只能是段落或表格")
        out.append(clean)
    if total > MAX_BODY_CHARS:
        raise Refusal("body_too_long", f"正文共{total}字，超过{MAX_BODY_CHARS}字的上限")
    return {"blocks": out}


def canonical_json(content: dict[str, Any]) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, characters as themselves."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_sha256(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def body_to_blocks(content: dict[str, Any] | None) -> list[BodyBlock | TableBlock]:
    """Renderer blocks from stored content. Empty paragraphs (left while typing) are not printed."""
    out: list[BodyBlock | TableBlock] = []
    for block in (content or {}).get("blocks", []):
        if block.get("type") == "table":
            out.append(TableBlock(rows=[list(row) for row in block["rows"]], header=bool(block.get("header", True))))
        elif block.get("text"):
            out.append(BodyBlock(text=block["text"], level=int(block.get("level", 0))))
    return out


def blocks_with_ordinals(content: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Blocks for display with their generated ordinal (``prefix``), numbered exactly as the renderer does:
    deeper counters restart under each heading; empty paragraphs neither print nor count."""
    counters = [0, 0, 0, 0, 0]
    out: list[dict[str, Any]] = []
    for block in (content or {}).get("blocks", []):
        if block.get("type") == "table":
            out.append({**block, "prefix": ""})
            continue
        level = int(block.get("level", 0))
        prefix = ""
        if level and block.get("text"):
            counters[level] += 1
            for deeper in range(level + 1, 5):
                counters[deeper] = 0
            prefix = heading_prefix(level, counters[level])
        out.append({**block, "prefix": prefix})
    return out


def body_plain_text(content: dict[str, Any] | None) -> str:
    """All 正文 text, one block per line (tables cell by cell): for search and previews."""
    lines: list[str] = []
    for block in (content or {}).get("blocks", []):
        if block.get("type") == "table":
            lines.extend(" ".join(row) for row in block["rows"])
        elif block.get("text"):
            lines.append(block["text"])
    return "\n".join(lines)


# ---- 痕迹: tracked changes across a chain of versions --------------------------------------------------------
#
# The base version's content is walked forward one version at a time. Each step is diffed against the previous
# one (blocks, then table rows and cells, then characters with difflib) and applied to a tracked copy in which
# every character, cell, row and block remembers which step inserted it and which deleted it. So each change is
# attributed to the author of the version that made it, and text inserted then deleted inside the range (never in
# either end) drops out. Change keys are opaque here (the selector uses version numbers).

_BLOCK_PAIR_RATIO = 0.4  # below this, a rewritten paragraph is shown as deleted + inserted rather than edited
_ROW_PAIR_RATIO = 0.3
_MAX_PAIRING = 2500  # old × new items in one replaced run


class _Char:
    __slots__ = ("ch", "dele", "ins")

    def __init__(self, ch: str, ins: Any = None) -> None:
        self.ch, self.ins, self.dele = ch, ins, None


class _Text:
    def __init__(self, text: str, ins: Any = None) -> None:
        self.chars = [_Char(ch, ins) for ch in text]

    def live(self) -> str:
        return "".join(c.ch for c in self.chars if c.dele is None)

    def apply(self, new: str, key: Any) -> None:
        matcher = SequenceMatcher(None, self.live(), new, autojunk=False)
        ops: list[tuple[str, int | None, int | None]] = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                ops += [("keep", i, None) for i in range(i1, i2)]
            if tag in ("delete", "replace"):
                ops += [("del", i, None) for i in range(i1, i2)]
            if tag in ("insert", "replace"):
                ops += [("ins", None, j) for j in range(j1, j2)]
        self.chars = _apply(self.chars, ops, lambda j: _Char(new[j], key), lambda c, j: None,
                            lambda c: _kill(c, key))

    def delete_all(self, key: Any) -> None:
        self.chars = [c for c in self.chars if c.dele is not None or _kill(c, key)]

    def spans(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for c in self.chars:
            kind, by = ("del", c.dele) if c.dele is not None else ("ins", c.ins) if c.ins is not None else ("same", None)
            if out and out[-1]["kind"] == kind and out[-1]["by"] == by:
                out[-1]["text"] += c.ch
            else:
                out.append({"kind": kind, "text": c.ch, "by": by})
        return out


def _kill(item: Any, key: Any) -> bool:
    """Mark ``item`` deleted by ``key``; False (drop it) when it was itself inserted inside the range."""
    if item.ins is not None:
        return False
    item.dele = key
    return True


def _apply(items: list, ops: list[tuple[str, int | None, int | None]], make, update, delete) -> list:
    """Apply aligned ops (indices into the live items / the new sequence) to a tracked list keeping dead items."""
    live = [n for n, item in enumerate(items) if item.dele is None]
    out: list = []
    cursor = 0
    for op, i, j in ops:
        if i is None:
            out.append(make(j))
            continue
        target = live[i]
        out.extend(items[cursor:target])  # already-deleted items stay where they were
        cursor = target + 1
        item = items[target]
        if op == "keep":
            out.append(item)
        elif op == "update":
            update(item, j)
            out.append(item)
        elif delete(item):
            out.append(item)
    out.extend(items[cursor:])
    return out


def _align(old: list, new: list, pair_ok) -> list[tuple[str, int | None, int | None]]:
    """difflib over hashable keys; inside a replaced run, pair old and new items in order when ``pair_ok``."""
    ops: list[tuple[str, int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            ops += [("keep", i1 + k, j1 + k) for k in range(i2 - i1)]
            continue
        pairs: list[tuple[int, int]] = []
        start = i1
        # Pairing compares every old item of the run with every new one; a huge replaced run (a whole body
        # pasted over another) is shown as deleted + inserted instead of spending seconds on similarity.
        for j in range(j1, j2) if (i2 - i1) * (j2 - j1) <= _MAX_PAIRING else ():
            for i in range(start, i2):
                if pair_ok(i, j):
                    pairs.append((i, j))
                    start = i + 1
                    break
        oi, nj = i1, j1
        for pi, pj in [*pairs, (i2, j2)]:
            ops += [("del", i, None) for i in range(oi, pi)]
            ops += [("ins", None, j) for j in range(nj, pj)]
            if pi < i2:
                ops.append(("update", pi, pj))
            oi, nj = pi + 1, pj + 1
    return ops


def _similar(a: str, b: str, threshold: float) -> bool:
    if not a and not b:
        return True
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold


class _Cell:
    def __init__(self, text: str, ins: Any = None) -> None:
        self.ins, self.dele, self.text = ins, None, _Text(text, ins)


class _Row:
    def __init__(self, cells: list[str], ins: Any = None) -> None:
        self.ins, self.dele = ins, None
        self.cells = [_Cell(c, ins) for c in cells]

    def apply(self, new: list[str], key: Any) -> None:
        old = [c.text.live() for c in self.cells if c.dele is None]
        ops = _align(old, new, lambda i, j: True)
        self.cells = _apply(self.cells, ops, lambda j: _Cell(new[j], key),
                            lambda c, j: c.text.apply(new[j], key), lambda c: _kill_cell(c, key))


def _kill_cell(cell: _Cell, key: Any) -> bool:
    if not _kill(cell, key):
        return False
    cell.text.delete_all(key)
    return True


def _kill_row(row: _Row, key: Any) -> bool:
    if not _kill(row, key):
        return False
    row.cells = [c for c in row.cells if c.dele is not None or _kill_cell(c, key)]
    return True


class _Block:
    def __init__(self, block: dict[str, Any], ins: Any = None) -> None:
        self.ins, self.dele = ins, None
        self.type = block["type"]
        if self.type == "table":
            self.rows = [_Row(r, ins) for r in block["rows"]]
            self.header = self.base_header = bool(block.get("header", True))
            self.header_by: Any = None
        else:
            self.text = _Text(block.get("text", ""), ins)
            self.level = self.base_level = int(block.get("level", 0))
            self.level_by: Any = None

    def apply(self, new: dict[str, Any], key: Any) -> None:
        if self.type == "table":
            old = [tuple(c.text.live() for c in r.cells if c.dele is None) for r in self.rows if r.dele is None]
            rows = new["rows"]
            ops = _align(old, [tuple(r) for r in rows],
                         lambda i, j: _similar("\t".join(old[i]), "\t".join(rows[j]), _ROW_PAIR_RATIO))
            self.rows = _apply(self.rows, ops, lambda j: _Row(rows[j], key),
                               lambda r, j: r.apply(rows[j], key), lambda r: _kill_row(r, key))
            header = bool(new.get("header", True))
            if header != self.header:
                self.header, self.header_by = header, key
        else:
            self.text.apply(new.get("text", ""), key)
            level = int(new.get("level", 0))
            if level != self.level:
                self.level, self.level_by = level, key

    def kill(self, key: Any) -> bool:
        if not _kill(self, key):
            return False
        if self.type == "table":
            self.rows = [r for r in self.rows if r.dele is not None or _kill_row(r, key)]
        else:
            self.text.delete_all(key)
        return True


def _block_key(block: dict[str, Any]) -> str:
    return canonical_json(block)


def _blocks_pair(old: list[dict[str, Any]], new: list[dict[str, Any]]):
    def pair_ok(i: int, j: int) -> bool:
        a, b = old[i], new[j]
        if a["type"] != b["type"]:
            return False
        if a["type"] == "table":
            flat_a = "\n".join("\t".join(r) for r in a["rows"])
            flat_b = "\n".join("\t".join(r) for r in b["rows"])
            return _similar(flat_a, flat_b, _ROW_PAIR_RATIO)
        return _similar(a.get("text", ""), b.get("text", ""), _BLOCK_PAIR_RATIO)

    return pair_ok


def _state(item: Any) -> tuple[str, Any]:
    if item.dele is not None:
        return "del", item.dele
    if item.ins is not None:
        return "ins", item.ins
    return "same", None


def tracked_diff(base: dict[str, Any], steps: list[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    """Tracked changes from ``base`` through each (key, content) in order, every change attributed to its key.

    Returns {"blocks": [...], "keys": [keys that made a visible change, in order], "changes": count}; each block
    is {"type": "p", "level", "prefix", "state", "by", "level_change", "spans": [{"kind", "text", "by"}]} or
    {"type": "table", "state", "by", "header", "header_change", "rows": [{"state", "by", "cells": [...]}]}.
    """
    tracked = [_Block(b) for b in base.get("blocks", [])]
    previous = base.get("blocks", [])
    for key, content in steps:
        blocks = content.get("blocks", [])
        ops = _align([_block_key(b) for b in previous], [_block_key(b) for b in blocks], _blocks_pair(previous, blocks))
        tracked = _apply(tracked, ops, lambda j, blocks=blocks, key=key: _Block(blocks[j], key),
                         lambda t, j, blocks=blocks, key=key: t.apply(blocks[j], key),
                         lambda t, key=key: t.kill(key))
        previous = blocks
    return _present(tracked)


def _present(tracked: list[_Block]) -> dict[str, Any]:
    used: list[Any] = []
    changes = 0

    def seen(by: Any) -> None:
        if by is not None and by not in used:
            used.append(by)

    def note(by: Any) -> None:
        nonlocal changes
        changes += 1
        seen(by)

    def spans_of(text: _Text) -> list[dict[str, Any]]:
        spans = text.spans()
        for span in spans:
            if span["kind"] != "same":
                note(span["by"])
        return spans

    counters = [0, 0, 0, 0, 0]
    out: list[dict[str, Any]] = []
    for block in tracked:
        state, by = _state(block)
        if block.type == "table":
            rows = []
            for row in block.rows:
                row_state, row_by = _state(row)
                cells = []
                seen(row_by)
                for cell in row.cells:
                    cell_state, cell_by = _state(cell)
                    seen(cell_by)
                    cells.append({"state": cell_state, "by": cell_by, "spans": spans_of(cell.text)})
                rows.append({"state": row_state, "by": row_by, "cells": cells})
            header_change = None
            if block.header != block.base_header and state != "del":
                header_change = {"from": block.base_header, "to": block.header, "by": block.header_by}
                note(block.header_by)
            seen(by)
            out.append({"type": "table", "state": state, "by": by, "header": block.header,
                        "header_change": header_change, "rows": rows})
            continue
        spans = spans_of(block.text)
        if not spans:
            continue  # an empty paragraph, unchanged: nothing to show
        prefix = ""
        if state != "del" and block.level and block.text.live():
            counters[block.level] += 1
            for deeper in range(block.level + 1, 5):
                counters[deeper] = 0
            prefix = heading_prefix(block.level, counters[block.level])
        level_change = None
        if block.level != block.base_level and state == "same":
            level_change = {"from": LEVEL_NAMES[block.base_level], "to": LEVEL_NAMES[block.level], "by": block.level_by}
            note(block.level_by)
        seen(by)
        out.append({"type": "p", "level": block.level, "prefix": prefix, "state": state, "by": by,
                    "level_change": level_change, "spans": spans})
    return {"blocks": out, "keys": used, "changes": changes}
