"""Handing a stored object to a browser — only ever called after the caller's permission check.

Filesystem: streamed by Django (FileResponse). MinIO: by default a 302 to a presigned GET URL that expires
within minutes and makes MinIO itself answer ``Content-Disposition: attachment``; with
``OA_MINIO_DOWNLOAD=stream`` the object is streamed through Django instead (for networks where browsers
cannot reach MinIO). docs/storage.md explains the choice.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.functional import LazyObject, empty

from integrations.storage.config import MAX_URL_TTL_SECONDS

CHUNK = 64 * 1024
# A downloaded file must never be interpreted by the browser as part of our origin.
SANDBOX_CSP = "default-src 'none'; sandbox"


def _unwrap(storage: Storage) -> Storage:
    """The real backend behind ``default_storage`` (a LazyObject that override_settings may reset)."""
    if isinstance(storage, LazyObject):
        if storage._wrapped is empty:
            storage._setup()
        return storage._wrapped
    return storage


def is_object_storage(storage: Storage) -> bool:
    """True for django-minio-storage (MinIO/S3); everything else is treated as a local filesystem."""
    from minio_storage.storage import MinioStorage

    return isinstance(_unwrap(storage), MinioStorage)


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''%E9…`` (RFC 6266 + RFC 5987).

    Old clients read the ASCII ``filename``; every current browser prefers ``filename*`` with the real name.
    """
    name = filename.replace("\r", "").replace("\n", "").strip() or "download"
    suffix = PurePosixPath(name).suffix
    ascii_suffix = suffix if suffix.isascii() and re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name[: len(name) - len(suffix)] if suffix else name).strip("._")
    fallback = (stem or "download") + ascii_suffix
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def url_ttl() -> datetime.timedelta:
    seconds = int(getattr(settings, "OA_MINIO_URL_TTL", 120))
    return datetime.timedelta(seconds=max(1, min(seconds, MAX_URL_TTL_SECONDS)))


def presigned_download_url(storage: Storage, name: str, *, filename: str, content_type: str,
                           ttl: datetime.timedelta | None = None) -> str:
    """A GET URL for one object, valid for ``ttl`` (≤ 5 min), whose response is a named attachment."""
    backend = _unwrap(storage)
    ttl = min(ttl or url_ttl(), datetime.timedelta(seconds=MAX_URL_TTL_SECONDS))
    base_url = getattr(backend, "base_url", None)
    client = backend.base_url_client if base_url else backend.client  # type: ignore[attr-defined]
    url = client.presigned_get_object(
        bucket_name=backend.bucket_name,  # type: ignore[attr-defined]
        object_name=name,
        expires=ttl,
        response_headers={
            "response-content-disposition": content_disposition(filename),
            "response-content-type": content_type,
            "response-cache-control": "private, no-store",
        },
    )
    if base_url:
        # Same rewrite as django-minio-storage: the public base URL stands for endpoint/bucket.
        from urllib.parse import urlsplit, urlunsplit

        parts, base = urlsplit(url), urlsplit(base_url)
        key_path = parts.path[len(backend.bucket_name) + 1:]  # type: ignore[attr-defined]
        url = urlunsplit((parts.scheme, parts.netloc, base.path.rstrip("/") + key_path, parts.query, ""))
    return url


def _object_chunks(backend: Storage, name: str) -> Iterator[bytes]:
    response = backend.client.get_object(bucket_name=backend.bucket_name, object_name=name)  # type: ignore[attr-defined]
    try:
        yield from response.stream(CHUNK)
    finally:
        response.close()
        response.release_conn()


def _secure(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = SANDBOX_CSP
    return response


def download_response(file: FieldFile, *, filename: str, content_type: str, size: int | None = None,
                      mode: str | None = None) -> HttpResponse:
    """The response that delivers ``file`` as an attachment named ``filename``.

    ``mode`` overrides ``settings.OA_MINIO_DOWNLOAD`` ("redirect" or "stream"); it only matters on MinIO.
    """
    storage = _unwrap(file.storage)
    if is_object_storage(storage):
        mode = mode or getattr(settings, "OA_MINIO_DOWNLOAD", "redirect")
        if mode == "redirect":
            url = presigned_download_url(storage, file.name, filename=filename, content_type=content_type)
            redirect = HttpResponseRedirect(url)
            redirect["Cache-Control"] = "private, no-store"  # the signed URL must not be reused from a cache
            redirect["Referrer-Policy"] = "no-referrer"
            return redirect
        response: HttpResponse = StreamingHttpResponse(_object_chunks(storage, file.name), content_type=content_type)
        if size is not None:
            response["Content-Length"] = str(size)
        return _secure(response, filename)
    response = FileResponse(storage.open(file.name, "rb"), content_type=content_type)
    return _secure(response, filename)
