"""Where files live: the local filesystem (embedded default) or MinIO/S3 through django-minio-storage on the
minio SDK (``OA_STORAGE=minio``). Everything above this package talks to Django's Storage API only; this
package knows the one thing the Storage API cannot say — how to hand a stored object to a browser after the
permission check (a stream, or a short-lived presigned URL). See docs/storage.md.
"""
