"""{% sso_login_buttons next %}: the “省统一身份认证登录” buttons on the login page, only for configured providers;
{% sso_profile_identities person %}: the linked identities on 我的 → 账号安全."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode

from integrations.sso.models import Provider
from integrations.sso.oidc import oidc_enabled
from integrations.sso.selectors import identities_of, provider_configured

register = template.Library()


@register.inclusion_tag("sso/login_buttons.html")
def sso_login_buttons(next_url: str = "") -> dict:
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    buttons = []
    if oidc_enabled():
        buttons.append({"url": reverse("sso:oidc_login") + query, "label": "省统一身份认证登录",
                        "hint": "OpenID Connect", "id": "sso-oidc"})
    if settings.OA_CAS_SERVER_URL:
        label = "省统一身份认证登录" if not buttons else "省统一身份认证登录（CAS）"
        buttons.append({"url": reverse("sso:cas_login") + query, "label": label, "hint": "CAS", "id": "sso-cas"})
    return {"buttons": buttons}


@register.inclusion_tag("sso/profile_identities.html")
def sso_profile_identities(person) -> dict:
    """我的 → 账号安全: which provincial identity is linked (read-only; linking is the 系统管理员's, /manage/sso/).
    Nothing is shown when no provider is configured and nothing is linked."""
    linked = {identity.provider: identity for identity in identities_of(person)}
    rows = [{"label": label, "identity": linked.get(value)} for value, label in Provider.choices
            if value in linked or provider_configured(value)]
    return {"rows": rows}
