"""The MinIO settings block, built in one place so production (oa/settings.py) and the test suite (moto on
loopback) run exactly the same configuration. Pure: no Django import, callable while settings load."""

from __future__ import annotations

from typing import Any

MINIO_BACKEND = "minio_storage.storage.MinioMediaStorage"
FILESYSTEM_BACKEND = "django.core.files.storage.FileSystemStorage"

# A presigned URL is a bearer token for one object: keep it short. Browsers follow the redirect at once.
MAX_URL_TTL_SECONDS = 300


def minio_settings(
    *,
    endpoint: str,
    access_key: str,
    secret_key: str,
    bucket: str,
    region: str = "us-east-1",
    use_https: bool = True,
    public_url: str = "",
) -> dict[str, Any]:
    """``MINIO_STORAGE_*`` settings for django-minio-storage 0.6 (STACK.md §5).

    ``endpoint`` is ``host:port`` without a scheme; the keys come from the environment only.
    """
    if "://" in endpoint or "/" in endpoint:
        raise ValueError("OA_MINIO_ENDPOINT 只写 host:port，不带 http:// 或路径")
    values: dict[str, Any] = {
        "MINIO_STORAGE_ENDPOINT": endpoint,
        "MINIO_STORAGE_ACCESS_KEY": access_key,
        "MINIO_STORAGE_SECRET_KEY": secret_key,
        "MINIO_STORAGE_REGION": region,
        "MINIO_STORAGE_MEDIA_BUCKET_NAME": bucket,
        # Creating the bucket is harmless; giving it a policy is not: the library's default ("GET_ONLY")
        # grants anonymous s3:GetObject on every 公文. False = the bucket stays private.
        "MINIO_STORAGE_AUTO_CREATE_MEDIA_BUCKET": True,
        "MINIO_STORAGE_AUTO_CREATE_MEDIA_POLICY": False,
        # url() must never produce an unsigned endpoint/bucket/key link (it would only work on a public bucket).
        "MINIO_STORAGE_MEDIA_USE_PRESIGNED": True,
        # The library defaults to HTTPS; a plain-HTTP MinIO must be said explicitly (OA_MINIO_HTTPS=0).
        "MINIO_STORAGE_USE_HTTPS": use_https,
    }
    if public_url:
        # Presigned URLs carry the endpoint host; browsers may need another name for the same MinIO
        # (e.g. https://files.example.gov.cn/oa-media — the bucket's URL as the browser reaches it).
        values["MINIO_STORAGE_MEDIA_URL"] = public_url.rstrip("/")
    return values


def storages(backend: str, *, staticfiles: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``STORAGES`` value for ``local`` or ``minio`` (staticfiles kept as given)."""
    default = {"BACKEND": MINIO_BACKEND if backend == "minio" else FILESYSTEM_BACKEND}
    out: dict[str, Any] = {"default": default}
    if staticfiles is not None:
        out["staticfiles"] = staticfiles
    return out
