"""Storage backends: the MinIO configuration from the environment (private bucket, presigned URLs, HTTPS by
default), the bucket our settings create really has no anonymous policy (checked against moto), and the
download helper on both backends (RFC 5987 names, short-lived presigned URLs)."""

from __future__ import annotations

import datetime
import io
import json
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import minio
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings
from minio_storage.storage import MinioMediaStorage

from integrations.storage.config import minio_settings
from integrations.storage.downloads import content_disposition, download_response, presigned_download_url
from tests.test_settings import BASE_ENV, ROOT

SHOW = (
    "import django; django.setup(); from django.conf import settings as s;"
    "print(s.STORAGES['default']['BACKEND'], s.MINIO_STORAGE_ENDPOINT, s.MINIO_STORAGE_USE_HTTPS,"
    " s.MINIO_STORAGE_AUTO_CREATE_MEDIA_POLICY, s.MINIO_STORAGE_MEDIA_USE_PRESIGNED,"
    " s.MINIO_STORAGE_MEDIA_BUCKET_NAME, s.MINIO_STORAGE_ACCESS_KEY, s.OA_MINIO_DOWNLOAD, s.OA_MINIO_URL_TTL,"
    " s.OA_UPLOAD_MAX_BYTES)"
)


def settings_in_subprocess(tmp_path, **env: str) -> subprocess.CompletedProcess:
    full = BASE_ENV | {"OA_DEBUG": "1", "OA_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "oa.settings"} | env
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=full, capture_output=True, text=True,
                          timeout=60)


def test_minio_is_configured_from_the_environment_only(tmp_path):
    out = settings_in_subprocess(tmp_path, OA_STORAGE="minio", OA_MINIO_ENDPOINT="minio.gov.internal:9000",
                                 OA_MINIO_ACCESS_KEY="oa-app", OA_MINIO_SECRET_KEY="s3cr3t", OA_MINIO_BUCKET="gongwen")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "minio_storage.storage.MinioMediaStorage", "minio.gov.internal:9000",
        "True",  # HTTPS unless said otherwise (the library's default too)
        "False",  # never an anonymous-read bucket policy
        "True",  # url() is always presigned
        "gongwen", "oa-app", "redirect", "120", str(50 * 1024 * 1024),
    ]
    plain = settings_in_subprocess(tmp_path, OA_STORAGE="minio", OA_MINIO_ENDPOINT="127.0.0.1:9000",
                                   OA_MINIO_HTTPS="0", OA_MINIO_DOWNLOAD="stream", OA_UPLOAD_MAX_BYTES="1048576")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.split()[2] == "False" and plain.stdout.split()[-3:] == ["stream", "120", "1048576"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OA_MINIO_ENDPOINT": "https://minio.gov.internal:9000"}, "只写 host:port"),
        ({"OA_MINIO_ENDPOINT": ""}, "缺少 OA_MINIO_ENDPOINT"),
        ({"OA_MINIO_ENDPOINT": "m:9000", "OA_MINIO_URL_TTL": "3600"}, "1～300 秒"),
        ({"OA_MINIO_ENDPOINT": "m:9000", "OA_MINIO_DOWNLOAD": "public"}, "redirect 或 stream"),
    ],
)
def test_bad_storage_settings_refuse_to_start(tmp_path, env, message):
    out = settings_in_subprocess(tmp_path, OA_STORAGE="minio", **env)
    assert out.returncode != 0 and message in out.stderr


def test_the_bucket_our_settings_create_is_private(s3_endpoint):
    """Against moto: our settings create the bucket with NO policy; the library default would make it public."""
    private = minio_settings(endpoint=s3_endpoint, access_key="k", secret_key="s", bucket="oa-private-check",
                             use_https=False)
    with override_settings(**private):
        storage = MinioMediaStorage()
        storage.save("documents/1/probe", ContentFile(b"secret"))
    client = minio.Minio(s3_endpoint, access_key="k", secret_key="s", secure=False)
    with pytest.raises(minio.error.S3Error) as info:
        client.get_bucket_policy("oa-private-check")
    assert info.value.code == "NoSuchBucketPolicy"
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(f"http://{s3_endpoint}/oa-private-check/documents/1/probe", timeout=10)
    assert anonymous.value.code == 403

    # The contrast that makes the setting necessary (STACK.md §5): the library's default policy is GET_ONLY.
    library_default = {k: v for k, v in private.items() if k != "MINIO_STORAGE_AUTO_CREATE_MEDIA_POLICY"}
    library_default["MINIO_STORAGE_MEDIA_BUCKET_NAME"] = "oa-public-check"
    with override_settings(**library_default):
        from django.conf import settings

        del settings.MINIO_STORAGE_AUTO_CREATE_MEDIA_POLICY
        MinioMediaStorage()
    policy = json.loads(client.get_bucket_policy("oa-public-check"))
    assert any(st["Principal"] in ("*", {"AWS": "*"}, {"AWS": ["*"]}) for st in policy["Statement"])


def test_content_disposition_is_rfc_5987():
    assert content_disposition("附件1：经费预算表.xlsx") == (
        "attachment; filename=\"1.xlsx\"; filename*=UTF-8''%E9%99%84%E4%BB%B61%EF%BC%9A%E7%BB%8F%E8%B4%B9"
        "%E9%A2%84%E7%AE%97%E8%A1%A8.xlsx"
    )
    assert content_disposition("report 2026.pdf") == (
        "attachment; filename=\"report_2026.pdf\"; filename*=UTF-8''report%202026.pdf")
    # A name cannot break out of the header (quotes, semicolons, CR/LF are percent-encoded or dropped).
    header = content_disposition('a";\r\nSet-Cookie: x=1.pdf')
    assert "\r" not in header and "\n" not in header and header.count('"') == 2


def test_presigned_url_is_short_lived_and_names_the_file(s3_endpoint):
    with override_settings(**minio_settings(endpoint=s3_endpoint, access_key="k", secret_key="s",
                                            bucket="oa-presign-check", use_https=False)):
        storage = MinioMediaStorage()
        name = storage.save("documents/9/abc", ContentFile(b"%PDF-1.7 test"))
        url = presigned_download_url(storage, name, filename="通知.pdf", content_type="application/pdf",
                                     ttl=datetime.timedelta(hours=2))
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Expires"] == ["300"]  # capped at 5 minutes whatever the caller asks
        assert query["response-content-disposition"] == [content_disposition("通知.pdf")]
        assert query["response-cache-control"] == ["private, no-store"]
        with override_settings(OA_MINIO_URL_TTL=60):
            short = presigned_download_url(storage, name, filename="a.pdf", content_type="application/pdf")
        assert parse_qs(urlsplit(short).query)["X-Amz-Expires"] == ["60"]
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"%PDF-1.7 test"
        assert response.headers["Content-Type"] == "application/pdf"


def test_download_response_streams_or_redirects(storage_backend):
    from documents.models import Attachment

    name = default_storage.save("documents/9/stream-test", ContentFile(b"hello " * 50_000))
    field_file = Attachment(name="x").file
    field_file.name = name
    response = download_response(field_file, filename="问候.txt", content_type="text/plain; charset=utf-8",
                                 size=300_000, mode="stream")
    body = io.BytesIO(b"".join(response.streaming_content))
    assert body.getvalue() == b"hello " * 50_000
    assert response["Content-Disposition"].startswith("attachment; filename=\"download.txt\"; filename*=UTF-8''")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    redirect = download_response(field_file, filename="问候.txt", content_type="text/plain; charset=utf-8",
                                 mode="redirect")
    if storage_backend == "minio":
        assert redirect.status_code == 302 and redirect["Referrer-Policy"] == "no-referrer"
    else:
        assert redirect.status_code == 200  # the filesystem always streams
        redirect.file_to_stream.close()
