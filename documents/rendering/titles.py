"""标题回行 (GB/T 9704 §7.3.1): where a long 标题 breaks, decided once and printed identically by both renderers.

The standard asks for 「回行时要做到词意完整，排列对称，长短适宜，间距恰当；标题排列应当使用梯形或菱形」. A clerk reads
that as: never break inside a word, a 机关名称, a year or a number, a short quoted name; break at the natural seams
(after the 发文机关, before 关于, before the 事由's last phrase such as 工作要点/实施方案); lines that grow longer
downward (梯形) or a longer middle line (菱形), never a short middle line (沙漏形) and never a lone 「的通知」.

`break_title` scores every split into one to three lines at word boundaries (jieba, with the caller's protected
terms — the directory's agency names — kept whole) and returns the best; a title that no split fits into three lines
raises `TitleBreakError` (a ValueError with a Chinese message). Pure: no Django, no database; the terms are passed in.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from functools import lru_cache

from documents.rendering import geometry as g

# 2号 (22 pt) 小标宋 on the 156 mm 版心 with the grid's −0.25 pt spacing: 442.2 / 21.75 → 20 full-width characters.
TITLE_CHARS_PER_LINE = int(g.CONTENT_W_PT // (g.TITLE_SIZE_PT + g.CHAR_SPACING_TWENTIETHS / 20))
MAX_TITLE_LINES = 3
# LibreOffice puts 0.2 em between an ideograph and a Latin digit/letter (STACK §13); a half-width glyph is 0.5 em.
_AUTOSPACE_EM = g.CJK_LATIN_GAP_PT / g.BODY_SIZE_PT
_HALF_EM = g.LATIN_DIGIT_ADVANCE_PT / g.BODY_SIZE_PT

# 文种 (条例 第八条) that end a title; splitting 「的」 from them or leaving them alone on a line is never done.
DOC_KINDS = ("通知", "通报", "意见", "请示", "报告", "批复", "函", "复函", "决定", "决议", "命令", "令", "公告", "通告",
             "公报", "议案", "纪要")
# Heads of the 事由's last phrase: "…建设/工作要点的通知" is the seam a clerk uses; they are never split themselves.
HEAD_TERMS = ("工作要点", "工作方案", "实施方案", "行动方案", "工作计划", "实施意见", "实施细则", "管理办法", "暂行办法",
              "实施办法", "若干措施", "工作规则", "工作制度", "管理制度", "考核办法", "应急预案", "工作规划", "责任清单",
              "任务清单", "分工方案", "工作指引", "操作规程", "工作总结", "执行情况", "有关事项", "有关问题", "专项行动",
              "专项检查", "专项整治", "试点工作", "专项资金", "领导小组")
# Compounds jieba splits but a clerk never would (today's 「政务服/务」「安/全生产」「数字/政府」「人民政府/办公室」).
LEXICON = ("政务服务", "安全生产", "数字政府", "人民政府", "人民政府办公室", "人民政府办公厅", "数据管理", "营商环境",
           "高质量发展", "乡村振兴", "应急管理", "一网通办", "放管服", "好差评", "食品安全", "生态环境", "城乡建设",
           "市场监督管理", "卫生健康", "防汛防旱", "森林防火", "安全生产月", "政务公开", "财政预算", "信息公开",
           "元旦春节", "大检查", "全区", "全市", "区级", "镇级", "村级", "常务会议", "国民经济和社会发展", "最低生活保障",
           "政务信息化", "组成人员", "先进单位", "先进个人")

_OPENING = "《“‘（(〔[【"
_CLOSING = "》”’）)〕]】，。、；：？！,.;:?!"
_CONJUNCTIONS = ("和", "与", "及", "暨", "以及", "并")
# Numbers with their unit, a year range, a 发文字号: never broken (「20/26年度」).
_NUMBER_RE = re.compile(
    r"(?:第)?[0-9０-９]+(?:[.．][0-9０-９]+)?(?:\s*[—–\-~～至]\s*[0-9０-９]+)?"
    r"(?:年度|周年|年|个月|月份|月|日|号|个|项|条|次|届|期|批|家|所|人|万元|亿元|元|%|％)?"
    r"|〔[0-9]+〕[0-9]+号|第[一二三四五六七八九十百零〇]+(?:次|届|批|期|个|条)"
    r"|[一二三四五六七八九十〇零]{2,4}年(?:度)?|[一二三四五六七八九十]+(?:年|个月)"
)
_QUOTE_RE = re.compile(r"“[^”]{1,12}”|‘[^’]{1,12}’|（[^）]{1,14}）|\([^)]{1,14}\)")
_BOOK_RE = re.compile(r"《[^》]*》")
_NOUNISH = ("n", "nr", "ns", "nt", "nz", "vn", "an", "j", "l", "nrt", "ng", "t", "s", "f")

_lock = threading.Lock()


class TitleBreakError(ValueError):
    """No split of the title into at most three lines keeps words whole and fits the 版心."""


def title_width(text: str) -> float:
    """Width of a title line in 字 (full-width characters at 2号): half-width glyphs count half, plus LO's gaps."""
    width = 0.0
    prev_ascii: bool | None = None
    for ch in text:
        is_ascii = ch.isascii()
        width += _HALF_EM if is_ascii else 1.0
        if prev_ascii is not None and prev_ascii != is_ascii and not ch.isspace():
            width += _AUTOSPACE_EM
        prev_ascii = is_ascii
    return width


@lru_cache(maxsize=1)
def _tokenizer():
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    base = jieba.Tokenizer()
    for word in (*LEXICON, *HEAD_TERMS):
        base.add_word(word, freq=200000, tag="n")
    return jieba.posseg.POSTokenizer(base)


def _tokens(text: str) -> list[tuple[str, str]]:
    with _lock:  # jieba's tokenizers are not thread-safe; the first call loads the dictionary (about a second)
        return [(p.word, p.flag) for p in _tokenizer().lcut(text, HMM=False)]


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text) if m.end() - m.start() > 1]


def _term_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    spans = []
    for term in sorted({t.strip() for t in terms if len(t.strip()) > 1}, key=len, reverse=True):
        start = text.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = text.find(term, start + 1)
    return spans


def _inside(i: int, spans: list[tuple[int, int]]) -> bool:
    return any(a < i < b for a, b in spans)


def _seams(text: str, terms: Iterable[str], max_width: float) -> dict[int, float]:
    """Allowed break positions (character offsets) with how natural a break there is (higher is better)."""
    tokens = _tokens(text)
    starts, pos = [], 0
    for word, _ in tokens:
        starts.append(pos)
        pos += len(word)
    agency = _term_spans(text, terms)
    hard = _spans(_NUMBER_RE, text) + _spans(_QUOTE_RE, text) + _term_spans(text, LEXICON + HEAD_TERMS)
    hard += [s for s in agency if title_width(text[s[0]:s[1]]) <= max_width]
    soft = _spans(_BOOK_RE, text) + [s for s in agency if title_width(text[s[0]:s[1]]) > max_width]
    agency_ends = {b for _, b in agency}
    head_starts = {a for a, _ in _term_spans(text, HEAD_TERMS)}
    # The 文种 at the end and the 「的」 before it.
    kind_start = next((len(text) - len(k) for k in sorted(DOC_KINDS, key=len, reverse=True) if text.endswith(k)),
                      len(text))
    de_start = kind_start - 1 if kind_start > 0 and text[kind_start - 1] == "的" else kind_start
    # The 事由's last phrase: the run of noun-like tokens just before 「的」+文种 starts there.
    last_phrase = None
    for k in range(len(tokens) - 1, -1, -1):
        if starts[k] >= de_start:
            continue
        if tokens[k][1] in _NOUNISH or tokens[k][1] == "m" or text[starts[k]] in _OPENING + _CLOSING:
            last_phrase = starts[k]
        else:
            break
    seams: dict[int, float] = {}
    for k in range(1, len(tokens)):
        i = starts[k]
        (a, fa), (b, fb) = tokens[k - 1], tokens[k]
        if a.isspace() and k > 1:  # a space between two names: break there, dropping it
            continue
        if _inside(i, hard) or b[0] in _CLOSING or a[-1] in _OPENING or i > de_start:
            continue
        s = 0.0
        if b.startswith("关于"):
            s += 10
        if a == "关于":
            s -= 10
        if i in agency_ends:
            s += 8
        if _inside(i, soft):
            s -= 8
        if b[0] == "《":
            s += 4
        if a[-1] == "》":
            s += 3
        if a[-1] in "、，" or b.isspace() or a.isspace():
            s += 3
        if b in _CONJUNCTIONS:
            s += 3
        if a in _CONJUNCTIONS:
            s -= 6
        if i == de_start:
            s -= 8  # 「…工作/的通知」
        if b == "的" or a == "的":
            s -= 5
        if fa in ("d", "p", "c", "u", "uj", "ul") and a != "关于":
            s -= 5  # 进一步/加强, 对/…: a modifier stays with its head
        if fa in _NOUNISH and fb in _NOUNISH:
            s -= 3  # inside a noun phrase
        if i in head_starts:
            s += 4
        if i == last_phrase:
            s += 3
        if fb.startswith("v") and fa in (*_NOUNISH, "m"):
            s += 1
        seams[i] = s
    return seams


def _shape(widths: list[float]) -> float:
    """梯形 (longer downward) or 菱形 (longer middle) scores 0; 沙漏形 and a stub line are penalised."""
    shortest, longest = min(widths), max(widths)
    score = 0.0
    if shortest < 4:
        score -= 30  # 「的通知」 alone
    ratio = shortest / longest
    if ratio < 0.5:
        score -= (0.5 - ratio) * 30  # 长短适宜
    if len(widths) == 2:
        top, bottom = widths
        if top > bottom:
            score -= 0.8 * (top - bottom)  # 倒梯形: accepted, less liked
    elif len(widths) == 3:
        top, middle, bottom = widths
        if middle < top and middle < bottom:
            score -= 15 + 3 * (min(top, bottom) - middle)  # 沙漏形
        elif top > middle > bottom:
            score -= 0.8 * (top - bottom)
        score -= 6  # a third line only when it reads better
    return score


def break_title(title: str, max_chars_per_line: float = TITLE_CHARS_PER_LINE,
                protected_terms: Iterable[str] = ()) -> list[str]:
    """The title's lines: one when it fits, else the best split into two or three (see the module docstring)."""
    text = " ".join(title.split())
    if title_width(text) <= max_chars_per_line:
        return [text]
    shown = text if len(text) <= 40 else text[:40] + "…"
    refusal = (f"标题过长：2号小标宋每行最多排{int(max_chars_per_line)}字，标题“{shown}”无法在{MAX_TITLE_LINES}行内"
               f"按词意完整地回行（机关名称、年份、数字和词语不能拆开），请精简标题，例如用规范化简称或删去重复的限定语")
    if title_width(text) > MAX_TITLE_LINES * max_chars_per_line:
        raise TitleBreakError(refusal)
    seams = _seams(text, list(protected_terms), max_chars_per_line)
    cuts = sorted(seams)

    def line(a: int, b: int) -> str:
        return text[a:b].strip()

    best: tuple[float, list[str]] | None = None
    candidates: list[tuple[int, ...]] = [(c,) for c in cuts]
    candidates += [(c1, c2) for n, c1 in enumerate(cuts) for c2 in cuts[n + 1:]]
    for cut in candidates:
        bounds = [0, *cut, len(text)]
        lines = [line(bounds[n], bounds[n + 1]) for n in range(len(bounds) - 1)]
        widths = [title_width(s) for s in lines]
        if not all(lines) or max(widths) > max_chars_per_line:
            continue
        score = sum(seams[c] for c in cut) + _shape(widths)
        if best is None or score > best[0] + 1e-9:
            best = (score, lines)
    if best is None:
        raise TitleBreakError(refusal)
    return best[1]
