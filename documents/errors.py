"""Refusals from the documents engine: a stable ``code`` for the API and a Chinese ``message`` for people."""

from __future__ import annotations


class DocumentError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
