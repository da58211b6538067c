"""发文字号 (document number) format and parse, per GB/T 9704-2012 §7.2.4 (DOMAIN.md §1.2).

A 发文字号 is 机关代字 + 〔YYYY〕 + 序号 + 号, e.g. "揭东府办〔2026〕5号": the year in full inside 六角括号,
no "第", no 虚位 (leading zeros). Parsing names the first rule broken so a user can fix the text.

``parse_doc_number`` accepts exactly the strings ``format_doc_number`` produces (and nothing else), so a
number read back from a form, a DOCX or an exchange package always round-trips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oa.refusals import Refusal

# Characters a 机关代字 may not contain: the 六角括号 themselves and every bracket people type instead
# (half- and full-width), so that the code can never be confused with the year part.
_BRACKETS = "〔〕[]［］()（）【】{}｛｝<>〈〉《》﹝﹞〖〗"
# ASCII digits only: "\d" would also accept full-width ２０２６ and other scripts' digits, which are not
# the 阿拉伯数字 the standard asks for and would not survive a round trip.
_VALID = re.compile(
    r"(?P<code>[^" + re.escape(_BRACKETS) + r"\s]+)〔(?P<year>[1-9][0-9]{3})〕(?P<seq>[1-9][0-9]*)号"
)
# Brackets people commonly type instead of 〔〕; each is a distinct, nameable mistake.
_WRONG_BRACKETS = re.compile(r"[\[［(（【{｛<〈《﹝〖].{0,6}[0-9０-９]{4}.{0,6}[\]］)）】}｝>〉》﹞〗]")


@dataclass(frozen=True)
class DocNumber:
    code: str
    year: int
    seq: int

    def __str__(self) -> str:
        return format_doc_number(self.code, self.year, self.seq)


def _check_parts(code: str, year: int, seq: int) -> None:
    if (
        not isinstance(code, str)
        or not code
        or any(c.isspace() for c in code)
        or any(c in _BRACKETS for c in code)
        or not code.isprintable()
    ):
        raise ValueError("机关代字不能为空，且不得含空白、括号或控制字符")
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ValueError("年份须为4位阿拉伯数字全称")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError("序号须为正整数")


def format_doc_number(code: str, year: int, seq: int) -> str:
    _check_parts(code, year, seq)
    return f"{code}〔{year}〕{seq}号"


def parse_doc_number(text: str) -> DocNumber:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("发文字号为空")
    if text != text.strip():
        raise ValueError("发文字号首尾不得有空白")
    m = _VALID.fullmatch(text)
    if m:
        number = DocNumber(m["code"], int(m["year"]), int(m["seq"]))
        _check_parts(number.code, number.year, number.seq)  # e.g. a control character inside the code
        return number
    # Not valid: find the most specific reason, most common mistakes first.
    if "〔" not in text or "〕" not in text:
        if _WRONG_BRACKETS.search(text):
            raise ValueError("年份须用六角括号〔〕括入，不得用[]、()、【】等")
        if re.search(r"[0-9]{4}年", text):
            raise ValueError("年份须用六角括号〔〕括入，不加“年”字")
        raise ValueError("年份须用六角括号〔〕括入")
    if not text.endswith("号"):
        raise ValueError("发文字号须以“号”字结尾")
    code, _, rest = text.partition("〔")
    year_text, _, seq_text = rest.partition("〕")
    if not code:
        raise ValueError("缺少机关代字")
    if not re.fullmatch(r"[1-9][0-9]{3}", year_text):
        raise ValueError("年份须为4位阿拉伯数字全称（如〔2026〕）")
    seq_text = seq_text[:-1]
    if seq_text.startswith("第"):
        raise ValueError("序号前不加“第”")
    if re.fullmatch(r"0[0-9]*", seq_text):
        raise ValueError("序号不得编虚位（如 01），且不得为0")
    if not re.fullmatch(r"[0-9]+", seq_text):
        raise ValueError("序号须为阿拉伯数字")
    raise ValueError("机关代字不得含空白、括号或控制字符")


def doc_number_from_text(text: str) -> DocNumber:
    """Parse a 文号 typed by a person; the refusal is a Refusal naming the rule broken."""
    try:
        return parse_doc_number(text)
    except ValueError as exc:
        raise Refusal("invalid_doc_number", f"文号格式有误：{exc}") from None


# ---------------------------------------------------------------- 文号序列 (series) formats

# A series' number format is a template over three placeholders; the standard one is the 文件 series' shape.
SERIES_CODE, SERIES_YEAR, SERIES_SEQ = "{代字}", "{年}", "{号}"
STANDARD_FORMAT = f"{SERIES_CODE}〔{SERIES_YEAR}〕{SERIES_SEQ}号"
# 纪要 printed under their own 标志 (GB/T 9704 §10.3) may leave the 代字 out: the 标志 names the meeting body.
MINUTES_FORMATS = (STANDARD_FORMAT, f"〔{SERIES_YEAR}〕{SERIES_SEQ}号", f"{SERIES_YEAR}年第{SERIES_SEQ}期")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
MINUTES_NUMBER_FORMS = (
    re.compile(r"〔(?P<year>[1-9][0-9]{3})〕(?P<seq>[1-9][0-9]*)号"),
    re.compile(r"(?P<year>[1-9][0-9]{3})年第(?P<seq>[1-9][0-9]*)期"),
)


def render_series_number(number_format: str, code: str, year: int, seq: int) -> str:
    """The 文号 a series prints for (year, seq); the parts are checked as for ``format_doc_number``."""
    _check_parts(code, year, seq)
    return (number_format.replace(SERIES_CODE, code).replace(SERIES_YEAR, str(year))
            .replace(SERIES_SEQ, str(seq)))


def check_series_format(number_format: str, *, minutes_only: bool) -> None:
    """Refuse (ValueError, in Chinese) a series format that could not print a valid 文号.

    The year is required: numbers restart every year and the ledger is kept per year, so a format without
    it would print the same number for two documents of different years. A series used by any 文种 but 纪要
    must print exactly 机关代字〔年份〕序号号 (GB/T 9704 §7.2.4); a 纪要-only series may also print 〔年份〕序号号 or
    年份年第序号期 under its own 标志 (§10.3)."""
    text = number_format if isinstance(number_format, str) else ""
    if not text.strip():
        raise ValueError("请填写文号格式，如“{代字}〔{年}〕{号}号”")
    unknown = [p for p in _PLACEHOLDER.findall(text) if p not in (SERIES_CODE, SERIES_YEAR, SERIES_SEQ)]
    if unknown:
        raise ValueError(f"文号格式中的“{unknown[0]}”无法识别，只能用 {{代字}}、{{年}}、{{号}}")
    if SERIES_YEAR not in text:
        raise ValueError("文号格式缺少年份“{年}”：发文字号每年从1号编起，须标注年份（如“{代字}〔{年}〕{号}号”）")
    if text.count(SERIES_SEQ) != 1:
        raise ValueError("文号格式须包含且只包含一个序号“{号}”")
    allowed = MINUTES_FORMATS if minutes_only else (STANDARD_FORMAT,)
    if text not in allowed:
        shown = "、".join(f"“{f}”" for f in allowed)
        what = "纪要序列" if minutes_only else "用于纪要以外文种的序列"
        raise ValueError(f"{what}的文号格式只能是 {shown}（GB/T 9704：年份用六角括号〔〕括入，不加“第”、不编虚位）")


def minutes_number_ok(text: str) -> bool:
    """A 纪要 number printed without the 代字 (its 标志 names the meeting body)."""
    return any(f.fullmatch(text) for f in MINUTES_NUMBER_FORMS)
