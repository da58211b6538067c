from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _admin_roles(request) -> frozenset[str]:
    # For the navigation only (the pages check again): the roles read once per request (held_roles), so the
    # 审计日志 and 管理 links cost no query of their own.
    from oa.models.directory import ADMIN_ROLES
    from oa.selectors.directory import held_roles

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    return held_roles(user) & frozenset(ADMIN_ROLES)


def _can_view_audit(request) -> bool:
    from oa.models import Role

    return Role.AUDITADMIN in _admin_roles(request)


def _can_manage(request) -> bool:
    # The three administrators, or anyone an app's management page (oa.manage_pages) is open to.
    if _admin_roles(request):
        return True
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    from oa.manage_pages import manage_pages_for

    return bool(manage_pages_for(user))


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
        "nav_manage": SimpleLazyObject(lambda: _can_manage(request)),
        "nav_counts": SimpleLazyObject(lambda: _inbox_counts(request)),
        "nav_unread": SimpleLazyObject(lambda: _unread(request)),
    }
