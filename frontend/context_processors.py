from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _can_view_audit(request) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if user.has_perm("oa.view_auditentry"):
        return True
    from oa.models import Role

    return user.role_assignments.filter(role=Role.SYSADMIN).exists()


def shell(request) -> dict:
    # Lazy: the query runs only on pages that render the navigation.
    return {
        "site_name": settings.OA_SITE_NAME,
        "nav_audit": SimpleLazyObject(lambda: _can_view_audit(request)),
    }
