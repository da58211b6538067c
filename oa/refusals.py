"""One refusal type for the whole system (docs/architecture.md).

An action that will not do what a person asked raises ``Refusal(code, message, status)``: ``code`` is stable
(the API's ``code`` field, clients branch on it), ``message`` is Chinese for people, ``status`` the HTTP status
(400 bad request, 403 not allowed, 404 not found or not yours, 409 conflicts with the current state).
Nothing is written when it is raised. Views need not catch it: the API's exception handler
(oa.api.exceptions) and the page middleware (oa.middleware.RefusalMiddleware) render it.
"""

from __future__ import annotations


class Refusal(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
