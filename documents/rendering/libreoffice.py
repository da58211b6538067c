"""DOCX → PDF with LibreOffice headless (STACK.md §8).

Each call gets its own temporary directory holding the input, the output, a fresh LibreOffice user profile and a
fontconfig file: two soffice runs sharing one profile make the second exit 1 silently, and without the font aliases
LibreOffice silently substitutes WenQuanYi Zen Hei for every 公文 font name.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

SOFFICE = "soffice"
DEFAULT_TIMEOUT_S = 120.0

# 公文 font names → fonts Debian ships (fonts-arphic-ukai/-uming, fonts-wqy-zenhei), per STACK.md §8. The aliases
# override a name even if the licensed font is installed, so a deployment that has the licensed fonts passes
# aliases={} to use them.
FONT_ALIASES: dict[str, str] = {
    "仿宋_GB2312": "AR PL UMing CN",  # 仿宋 ≠ 楷体: see documents.rendering.fonts.STANDINS
    "仿宋": "AR PL UMing CN",
    "楷体_GB2312": "AR PL UKai CN",
    "楷体": "AR PL UKai CN",
    "方正小标宋简体": "AR PL UMing CN",
    "宋体": "AR PL UMing CN",
    "SimSun": "AR PL UMing CN",
    "黑体": "WenQuanYi Zen Hei",
    "SimHei": "WenQuanYi Zen Hei",
}


class ConversionError(RuntimeError):
    """soffice is missing, failed, timed out or produced no PDF."""


def fontconfig_xml(aliases: dict[str, str]) -> str:
    """A fonts.conf that keeps the system configuration and rewrites the requested family names.

    A `<match target="pattern">` assigning the family (binding="strong") rewrites the request before fontconfig
    matches it, so the substitute is chosen by name rather than by whichever installed font covers CJK best.
    """
    matches = "".join(
        f"""
  <match target="pattern">
    <test qual="any" name="family"><string>{escape(src)}</string></test>
    <edit name="family" mode="assign" binding="strong"><string>{escape(dst)}</string></edit>
  </match>"""
        for src, dst in aliases.items()
    )
    return f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>{matches}
</fontconfig>
"""


def docx_to_pdf(
    docx_bytes: bytes,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    aliases: dict[str, str] | None = None,
) -> bytes:
    """Convert one DOCX to PDF bytes with a private profile and font aliases; raise ConversionError in Chinese."""
    return docxs_to_pdfs([docx_bytes], timeout_s=timeout_s, aliases=aliases)[0]


def docxs_to_pdfs(
    docx_list: list[bytes],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    aliases: dict[str, str] | None = None,
) -> list[bytes]:
    """Convert several DOCX files in one soffice run (it starts once: ~1 s saved per extra file), in order."""
    return _convert([(d, "docx") for d in docx_list], timeout_s=timeout_s, aliases=aliases)


# Office formats an uploaded 附件 may be in (documents/uploads.py KINDS) that LibreOffice turns into PDF pages.
OFFICE_SUFFIXES = ("docx", "xlsx", "pptx", "odt", "ods", "odp")


def soffice_available() -> bool:
    return shutil.which(SOFFICE) is not None


def office_to_pdf(
    data: bytes,
    suffix: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    aliases: dict[str, str] | None = None,
) -> bytes:
    """Convert one office file (DOCX, XLSX, PPTX, ODF) to PDF bytes; raise ConversionError in Chinese."""
    return _convert([(data, suffix)], timeout_s=timeout_s, aliases=aliases)[0]


def _convert(files: list[tuple[bytes, str]], *, timeout_s: float, aliases: dict[str, str] | None) -> list[bytes]:
    if not files:
        raise ConversionError("没有要转换的文件")
    for data, suffix in files:
        if suffix not in OFFICE_SUFFIXES:
            raise ConversionError(f"不支持把 .{suffix} 文件转换为 PDF（仅支持 {'、'.join(OFFICE_SUFFIXES).upper()}）")
        # LibreOffice imports anything that is not a recognised format as plain text and "succeeds", so check first.
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise ConversionError(f"输入不是 {suffix.upper()} 文件（不是 ZIP 包），未转换")
    soffice = shutil.which(SOFFICE)
    if soffice is None:
        kinds = "、".join(sorted({suffix.upper() for _, suffix in files}))
        raise ConversionError(
            f"未找到 LibreOffice（soffice），无法把 {kinds} 转为 PDF；请安装 libreoffice-writer-nogui"
            "（表格另需 libreoffice-calc-nogui，演示文稿另需 libreoffice-impress-nogui）"
        )
    with tempfile.TemporaryDirectory(prefix="oa-soffice-") as tmp:
        work = Path(tmp)
        sources = [work / f"document{i}.{suffix}" for i, (_, suffix) in enumerate(files)]
        for src, (data, _) in zip(sources, files, strict=True):
            src.write_bytes(data)
        out = work / "out"
        out.mkdir()
        profile = work / "profile"  # created by soffice on first start
        fonts_conf = work / "fonts.conf"
        fonts_conf.write_text(fontconfig_xml(FONT_ALIASES if aliases is None else aliases), encoding="utf-8")
        env = {
            **os.environ,
            "FONTCONFIG_FILE": str(fonts_conf),
            "HOME": str(work),  # soffice and fontconfig write caches under $HOME; keep them in the temp dir
        }
        cmd = [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            *(str(src) for src in sources),
        ]
        # /usr/bin/soffice is a shell script that starts oosplash and soffice.bin; a new session lets a timeout kill
        # the whole group instead of orphaning soffice.bin with the temp profile open.
        proc = subprocess.Popen(
            cmd, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ConversionError(f"LibreOffice 转换超时（超过 {timeout_s:g} 秒）") from exc
        pdfs = [out / f"{src.stem}.pdf" for src in sources]
        if proc.returncode != 0 or not all(pdf.is_file() for pdf in pdfs):
            detail = (stderr or stdout).decode("utf-8", "replace").strip()[-500:]
            raise ConversionError(f"LibreOffice 转换失败（退出码 {proc.returncode}，未生成 PDF）：{detail}")
        return [pdf.read_bytes() for pdf in pdfs]
