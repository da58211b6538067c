"""Upload safety shared by every file a person hands us (attachments, .docx bodies, scans)."""

from __future__ import annotations

import io
import zipfile

from documents.errors import DocumentError

# A .docx is a ZIP; these bound what opening one may cost (zip bombs: tiny file, huge expansion).
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_EXPANDED_BYTES = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100  # expanded / compressed, per member and overall


def check_zip_safety(data: bytes) -> zipfile.ZipFile:
    """Open ``data`` as a ZIP only if its declared sizes are sane; raise DocumentError otherwise.

    Declared sizes can lie, so readers must still read members with a cap (see ``read_member``).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DocumentError("bad_zip", "文件已损坏或不是有效的压缩格式（.docx）") from None
    if len(infos) > ZIP_MAX_MEMBERS:
        raise DocumentError("zip_too_many_members", f"文件内部条目过多（超过{ZIP_MAX_MEMBERS}个），已拒绝")
    total = sum(i.file_size for i in infos)
    if total > ZIP_MAX_EXPANDED_BYTES:
        raise DocumentError("zip_too_large", "文件解压后过大，疑似压缩炸弹，已拒绝")
    packed = max(1, sum(i.compress_size for i in infos))
    if total / packed > ZIP_MAX_RATIO or any(
        i.file_size > 1024 * 1024 and i.file_size / max(1, i.compress_size) > ZIP_MAX_RATIO for i in infos
    ):
        raise DocumentError("zip_ratio", "文件压缩比异常，疑似压缩炸弹，已拒绝")
    return archive


def read_member(archive: zipfile.ZipFile, name: str, limit: int = ZIP_MAX_EXPANDED_BYTES) -> bytes:
    """Read one member, refusing to expand past ``limit`` whatever its header claims."""
    try:
        with archive.open(name) as fh:
            data = fh.read(limit + 1)
    except KeyError:
        raise DocumentError("zip_member_missing", f"文件缺少必要部分：{name}") from None
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DocumentError("bad_zip", "文件已损坏，无法读取") from None
    if len(data) > limit:
        raise DocumentError("zip_too_large", "文件解压后过大，疑似压缩炸弹，已拒绝")
    return data
