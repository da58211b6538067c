"""发文字号 (document number) format and parse, per GB/T 9704-2012 §7.2.4 (DOMAIN.md §1.2).

A 发文字号 is 机关代字 + 〔YYYY〕 + 序号 + 号, e.g. "揭东府办〔2026〕5号": the year in full inside 六角括号,
no "第", no 虚位 (leading zeros). Parsing names the first rule broken so a user can fix the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VALID = re.compile(r"^(?P<code>[^〔〕\s\[\]()（）【】]+)〔(?P<year>\d{4})〕(?P<seq>[1-9]\d*)号$")
# Brackets people commonly type instead of 〔〕; each is a distinct, nameable mistake.
_WRONG_BRACKETS = re.compile(r"[\[［(（【{｛<〈《].{0,6}\d{4}.{0,6}[\]］)）】}｝>〉》]")


@dataclass(frozen=True)
class DocNumber:
    code: str
    year: int
    seq: int

    def __str__(self) -> str:
        return format_doc_number(self.code, self.year, self.seq)


def _check_parts(code: str, year: int, seq: int) -> None:
    if not code or any(c.isspace() for c in code) or any(c in "〔〕[]()（）【】" for c in code):
        raise ValueError("机关代字不能为空，且不得含空白或括号")
    if not 1000 <= year <= 9999:
        raise ValueError("年份须为4位阿拉伯数字全称")
    if seq < 1:
        raise ValueError("序号须为正整数")


def format_doc_number(code: str, year: int, seq: int) -> str:
    _check_parts(code, year, seq)
    return f"{code}〔{year}〕{seq}号"


def parse_doc_number(text: str) -> DocNumber:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("发文字号为空")
    if text != text.strip():
        raise ValueError("发文字号首尾不得有空白")
    m = _VALID.match(text)
    if m:
        return DocNumber(m["code"], int(m["year"]), int(m["seq"]))
    # Not valid: find the most specific reason, most common mistakes first.
    if "〔" not in text or "〕" not in text:
        if _WRONG_BRACKETS.search(text):
            raise ValueError("年份须用六角括号〔〕括入，不得用[]、()、【】等")
        raise ValueError("年份须用六角括号〔〕括入")
    if not text.endswith("号"):
        raise ValueError("发文字号须以“号”字结尾")
    code, _, rest = text.partition("〔")
    year_text, _, seq_text = rest.partition("〕")
    if not code:
        raise ValueError("缺少机关代字")
    if not re.fullmatch(r"\d{4}", year_text):
        raise ValueError("年份须为4位阿拉伯数字全称（如〔2026〕）")
    seq_text = seq_text[:-1]
    if seq_text.startswith("第"):
        raise ValueError("序号前不加“第”")
    if re.fullmatch(r"0\d*", seq_text):
        raise ValueError("序号不得编虚位（如 01），且不得为0")
    if not re.fullmatch(r"\d+", seq_text):
        raise ValueError("序号须为阿拉伯数字")
    raise ValueError("机关代字不得含空白或括号")
