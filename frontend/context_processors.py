from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _can_view_audit(request) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    from oa.selectors.audit import may_view_audit

    return may_view_audit(user)


def _inbox_counts(request) -> dict[str, int]:
    from oa.selectors.work import inbox_counts

    return inbox_counts(request.user)


def _unread(request) -> int:
    from oa.selectors.notifications import unread_count

    return unread_count(request.user)


def shell(request) -> dict:
    # Lazy: the queries run only on pages that render the navigation (events.js keeps them current after).
    return {
        "site_name": settings.OA_SITE_NAME,
        "nav_audit": SimpleLazyObject(lambda: _can_view_audit(request)),
        "nav_counts": SimpleLazyObject(lambda: _inbox_counts(request)),
        "nav_unread": SimpleLazyObject(lambda: _unread(request)),
    }
