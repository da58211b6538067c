"""The API's JSON parser: DRF's JSONParser lets RecursionError through (a 500 on ``[`` × 100000) and reads a body of
any size; this one loads through oa.jsonsafe and answers with a code (docs/api.md「错误」)."""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, renderers
from rest_framework.parsers import BaseParser

from oa import jsonsafe
from oa.refusals import Refusal


class SafeJSONParser(BaseParser):
    # Not a subclass of rest_framework's JSONParser on purpose: DRF reads request.body in full for that class
    # (RequestDataTooBig, an HTML 400, past DATA_UPLOAD_MAX_MEMORY_SIZE); here the stream is read up to the limit.
    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if limit is not None else stream.read()
        try:
            return jsonsafe.loads(data, max_bytes=limit)
        except jsonsafe.JsonRefused as refused:
            if refused.code == jsonsafe.TOO_LARGE:
                raise Refusal(refused.code, f"请求体超过上限 {limit} 字节。", 413) from None
            if refused.code == jsonsafe.TOO_DEEP:
                raise Refusal(refused.code, f"请求体有误：{refused.message}。", 400) from None
            raise exceptions.ParseError(f"请求体有误：{refused.message}。") from None
