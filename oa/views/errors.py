"""Error views Django lets a project replace. The 400/403/404/500 pages themselves are templates in
frontend/error_templates; only the CSRF failure needs a view, since Django's own renders its template
without the request (no shell, no site name)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    # `reason` is Django's English diagnosis; it goes to the log (django.security.csrf), not to the user.
    return render(request, "403_csrf.html", status=403)
