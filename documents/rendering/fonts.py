"""Font files for the 公文 font names (仿宋_GB2312, 楷体_GB2312, 方正小标宋简体, 黑体, 宋体).

The real fonts are commercial and not shipped; a deployment points at its licensed files with
`OA_FONTS` (JSON: name → path or [path, subfontIndex]) and/or `OA_FONT_DIR` (scanned for the usual file names).
Anything still missing falls back to a Debian stand-in (STACK.md §7) and is reported, so the PDF can say so.
Only TrueType outlines work: reportlab cannot embed CFF/OpenType-PS fonts (e.g. Noto CJK).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from documents.rendering import geometry as g

STANDIN_NOTE = "本文件使用替代字体"

# Debian stand-ins (fonts-arphic-ukai, fonts-arphic-uming, fonts-wqy-zenhei); index 0 is the CN face of each TTC.
# The hierarchy needs four distinct looks (正文 仿宋, 一级 黑体, 二级 楷体, 标题 小标宋): Debian has no free simplified
# 仿宋 in TrueType (cwTeX FangSong is traditional-only, Fandol FangSong is CFF, which reportlab cannot embed), so
# 仿宋 takes the light Ming face, 仿宋's own skeleton (仿宋 is a 宋 with 楷 strokes), and 楷体 keeps the Kai face.
# 二级标题 then never looks like body text. Both Arphic faces share one design grid (ascent 0.879 em, 1000-unit
# advances), so the grid positions measured in STACK §13 hold for either.
_ARPHIC = Path("/usr/share/fonts/truetype/arphic")
_WQY = Path("/usr/share/fonts/truetype/wqy")
STANDINS: dict[str, tuple[Path, int, str]] = {
    g.FONT_FANGSONG: (_ARPHIC / "uming.ttc", 0, "AR PL UMing CN"),
    g.FONT_KAITI: (_ARPHIC / "ukai.ttc", 0, "AR PL UKai CN"),
    g.FONT_XIAOBIAOSONG: (_ARPHIC / "uming.ttc", 0, "AR PL UMing CN"),
    g.FONT_SONGTI: (_ARPHIC / "uming.ttc", 0, "AR PL UMing CN"),
    g.FONT_HEITI: (_WQY / "wqy-zenhei.ttc", 0, "WenQuanYi Zen Hei"),
}

# File names the licensed fonts usually ship under, matched case-insensitively inside OA_FONT_DIR.
KNOWN_FILES: dict[str, tuple[str, ...]] = {
    g.FONT_FANGSONG: ("仿宋_GB2312.ttf", "FangSong_GB2312.ttf", "fsgb2312.ttf", "simfang.ttf"),
    g.FONT_KAITI: ("楷体_GB2312.ttf", "KaiTi_GB2312.ttf", "ktgb2312.ttf", "simkai.ttf"),
    g.FONT_XIAOBIAOSONG: ("方正小标宋简体.ttf", "FZXBSJW.ttf", "FZXBSJW--GB1-0.ttf", "方正小标宋_GBK.ttf"),
    g.FONT_HEITI: ("黑体.ttf", "simhei.ttf"),
    g.FONT_SONGTI: ("宋体.ttc", "宋体.ttf", "simsun.ttc", "simsun.ttf"),
}
FONT_NAMES = tuple(STANDINS)


@dataclass(frozen=True)
class FontFile:
    name: str  # 公文 font name
    path: Path
    subfont_index: int
    standin: bool
    standin_family: str = ""  # e.g. "AR PL UKai CN" when standin


@dataclass(frozen=True)
class FontSet:
    fonts: dict[str, FontFile]

    @property
    def standins(self) -> list[FontFile]:
        return [f for f in self.fonts.values() if f.standin]

    def note(self) -> str:
        """"" when every font is configured, else 本文件使用替代字体 with the substitutions."""
        subs = self.standins
        if not subs:
            return ""
        return STANDIN_NOTE + "：" + "；".join(f"{f.name}→{f.standin_family}" for f in subs)


def _parse_overrides(raw: str, base: Path | None) -> dict[str, tuple[Path, int]]:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"OA_FONTS 须为 JSON 对象（字体名 → 路径 或 [路径, 子字体序号]）：{exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("OA_FONTS 须为 JSON 对象（字体名 → 路径 或 [路径, 子字体序号]）")
    out: dict[str, tuple[Path, int]] = {}
    for name, value in data.items():
        if name not in STANDINS:
            raise ValueError(f"OA_FONTS 中的字体名 {name!r} 不是公文字体（{'、'.join(FONT_NAMES)}）")
        path_s, index = (value, 0) if isinstance(value, str) else (value[0], int(value[1]))
        path = Path(path_s)
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise ValueError(f"OA_FONTS：{name} 的字体文件不存在：{path}")
        out[name] = (path, index)
    return out


def _scan_dir(font_dir: Path) -> dict[str, tuple[Path, int]]:
    if not font_dir.is_dir():
        return {}
    by_lower = {p.name.lower(): p for p in font_dir.iterdir() if p.is_file()}
    found: dict[str, tuple[Path, int]] = {}
    for name, candidates in KNOWN_FILES.items():
        for cand in candidates:
            if cand.lower() in by_lower:
                found[name] = (by_lower[cand.lower()], 0)
                break
    return found


def _from_settings() -> tuple[str, str]:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        return str(getattr(settings, "FONT_DIR", "") or ""), str(getattr(settings, "FONTS", "") or "")
    except ImproperlyConfigured:  # the renderer is also usable outside a configured Django process
        return "", ""


def resolve_fonts(font_dir: str | None = None, fonts_json: str | None = None) -> FontSet:
    """Resolve every 公文 font: OA_FONTS first, then OA_FONT_DIR, then the Debian stand-in."""
    if font_dir is None or fonts_json is None:
        s_dir, s_json = _from_settings()
        font_dir = s_dir if font_dir is None else font_dir
        fonts_json = s_json if fonts_json is None else fonts_json
    base = Path(font_dir) if font_dir else None
    configured = _scan_dir(base) if base else {}
    configured.update(_parse_overrides(fonts_json, base))
    fonts: dict[str, FontFile] = {}
    for name in FONT_NAMES:
        if name in configured:
            path, index = configured[name]
            fonts[name] = FontFile(name, path, index, standin=False)
            continue
        path, index, family = STANDINS[name]
        if not path.is_file():
            raise FileNotFoundError(f"缺少字体 {name}：未配置正版字体（OA_FONT_DIR / OA_FONTS），替代字体 {path} 也不存在")
        fonts[name] = FontFile(name, path, index, standin=True, standin_family=family)
    return FontSet(fonts)


# ---- what a finished PDF was set in (用印 refusal, preview and 验章 pages) ----------------------------------------

@dataclass(frozen=True)
class PdfFontReport:
    faces: tuple[str, ...]  # PostScript names without the subset tag, e.g. "UMingCN-0"
    not_embedded: tuple[str, ...]  # faces a reader would substitute (should be empty for our PDFs)
    standin_note: str  # "本文件使用替代字体：仿宋_GB2312→AR PL UMing CN；…" as the renderer wrote it, or ""

    @property
    def uses_standins(self) -> bool:
        return bool(self.standin_note)

    def summary(self) -> str:
        """One Chinese sentence for the pages: which faces, embedded or not, stand-ins or licensed."""
        if not self.faces:
            return "未读到字体信息"
        text = "字体：" + "、".join(self.faces)
        text += "（均已嵌入）" if not self.not_embedded else f"（未嵌入：{'、'.join(self.not_embedded)}）"
        return text + ("；" + self.standin_note if self.standin_note else "")


def pdf_font_report(data: bytes) -> PdfFontReport:
    """Fonts of every page (and of the signature appearances) plus the stand-in note from Subject/Keywords."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    faces: dict[str, bool] = {}
    note = ""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        info = reader.trailer_view.get("/Info")
        if info is not None:
            for key in ("/Subject", "/Keywords"):
                value = str(info.get_object().get(key, ""))
                if STANDIN_NOTE in value:
                    note = value[value.index(STANDIN_NOTE):].split(",")[0].strip()
                    break
        for i in range(int(reader.root["/Pages"]["/Count"])):
            page = reader.find_page_for_modification(i)[0].get_object()
            resources = page.get("/Resources")
            fonts = resources.get_object().get("/Font") if resources is not None else None
            for font in (fonts.get_object().values() if fonts is not None else []):
                _collect_face(font.get_object(), faces)
    except Exception:  # hostile or broken input: report what could be read (the verifier says what is wrong)
        faces.setdefault("（无法读取）", False)
    return PdfFontReport(faces=tuple(faces), not_embedded=tuple(n for n, emb in faces.items() if not emb),
                         standin_note=note)


def _collect_face(font, faces: dict[str, bool]) -> None:
    descendants = font.get("/DescendantFonts")
    if descendants is not None:
        for d in descendants.get_object():
            _collect_face(d.get_object(), faces)
        return
    name = str(font.get("/BaseFont", "")).lstrip("/")
    if not name:
        return
    name = name.split("+", 1)[1] if len(name) > 7 and name[6] == "+" else name
    descriptor = font.get("/FontDescriptor")
    embedded = descriptor is not None and any(
        k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    faces[name] = faces.get(name, False) or embedded
