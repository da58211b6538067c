"""OpenID Connect relying party on mozilla-django-oidc: configuration, discovery and ID token checks.

mozilla-django-oidc's request view builds the authorisation request (state, nonce, PKCE S256) and its backend
exchanges the code and verifies the JWS against the provider's JWKS. We use its backend as a client only (never
from AUTHENTICATION_BACKENDS, so a password login can never reach the provider) and add what it leaves out:
audience, issuer, expiry and `iat` are required and checked, the signing algorithm is pinned, users are found by
`sub` through SsoIdentity (never by e-mail, never created), and every failure is a SsoRefusal with a Chinese
message instead of a bare SuspiciousOperation.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from integrations.sso.errors import SsoRefusal

logger = logging.getLogger(__name__)

DISCOVERY_CACHE_SECONDS = 3600
CLOCK_LEEWAY_SECONDS = 60
CALLBACK_URL_NAME = "sso:oidc_callback"


@dataclasses.dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str
    scopes: str
    sign_algo: str
    acr_values: str
    strong_acr: frozenset[str]
    timeout: int
    verify_tls: bool


def oidc_enabled() -> bool:
    return bool(settings.OA_OIDC_ISSUER and settings.OA_OIDC_CLIENT_ID and settings.OA_OIDC_CLIENT_SECRET)


def _discover(issuer: str, timeout: int, verify: bool) -> dict[str, Any]:
    key = f"sso:oidc:discovery:{issuer}"
    document = cache.get(key)
    if document is not None:
        return document
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=timeout, verify=verify)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("oidc discovery failed for %s: %s", issuer, exc)
        raise SsoRefusal("sso_unavailable") from exc
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer:
        # OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
        logger.warning("oidc discovery: issuer %r does not match %r", document.get("issuer") if isinstance(
            document, dict) else None, issuer)
        raise SsoRefusal("sso_unavailable")
    cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


def oidc_config() -> OidcConfig:
    """The provider as configured; endpoints not set in OA_OIDC_*_URL come from the discovery document."""
    if not oidc_enabled():
        raise SsoRefusal("sso_off")
    issuer = settings.OA_OIDC_ISSUER
    explicit = {
        "authorization_endpoint": settings.OA_OIDC_AUTHORIZATION_URL,
        "token_endpoint": settings.OA_OIDC_TOKEN_URL,
        "userinfo_endpoint": settings.OA_OIDC_USERINFO_URL,
        "jwks_uri": settings.OA_OIDC_JWKS_URL,
        "end_session_endpoint": settings.OA_OIDC_END_SESSION_URL,
    }
    needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    if not all(explicit[name] for name in needed) or not explicit["end_session_endpoint"]:
        try:
            document = _discover(issuer, settings.OA_OIDC_TIMEOUT, settings.OA_OIDC_VERIFY_TLS)
        except SsoRefusal:
            if not all(explicit[name] for name in needed):
                raise
            document = {}  # everything needed is configured; single logout is simply not offered
        explicit = {name: value or str(document.get(name) or "") for name, value in explicit.items()}
    return OidcConfig(
        issuer=issuer, client_id=settings.OA_OIDC_CLIENT_ID, client_secret=settings.OA_OIDC_CLIENT_SECRET,
        scopes=settings.OA_OIDC_SCOPES, sign_algo=settings.OA_OIDC_SIGN_ALGO, acr_values=settings.OA_OIDC_ACR_VALUES,
        strong_acr=frozenset(settings.OA_OIDC_STRONG_ACR), timeout=settings.OA_OIDC_TIMEOUT,
        verify_tls=settings.OA_OIDC_VERIFY_TLS, **explicit,
    )


def _library_settings(config: OidcConfig) -> dict[str, Any]:
    """What mozilla-django-oidc asks `get_settings` for, from our configuration instead of OIDC_* settings."""
    extra = {"acr_values": config.acr_values} if config.acr_values else {}
    return {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": config.authorization_endpoint,
        "OIDC_OP_TOKEN_ENDPOINT": config.token_endpoint,
        "OIDC_OP_USER_ENDPOINT": config.userinfo_endpoint or None,
        "OIDC_OP_JWKS_ENDPOINT": config.jwks_uri,
        "OIDC_RP_CLIENT_ID": config.client_id,
        "OIDC_RP_CLIENT_SECRET": config.client_secret,
        "OIDC_RP_SIGN_ALGO": config.sign_algo,
        "OIDC_RP_IDP_SIGN_KEY": None,
        "OIDC_RP_SCOPES": config.scopes,
        "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_PKCE_CODE_VERIFIER_SIZE": 64,
        "OIDC_STATE_SIZE": 32,
        "OIDC_NONCE_SIZE": 32,
        "OIDC_MAX_STATES": 10,
        "OIDC_REDIRECT_FIELD_NAME": "next",
        "OIDC_REDIRECT_ALLOWED_HOSTS": [],
        "OIDC_AUTH_REQUEST_EXTRA_PARAMS": extra,
        "OIDC_VERIFY_SSL": config.verify_tls,
        "OIDC_TIMEOUT": config.timeout,
        "OIDC_PROXY": None,
        "OIDC_VERIFY_KID": True,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_TOKEN_USE_BASIC_AUTH": False,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
    }


class AuthorisationRequest(OIDCAuthenticationRequestView):
    """mozilla-django-oidc's request view (state + nonce + PKCE in the session, redirect to the provider),
    configured from OidcConfig."""

    def __init__(self, *args, config: OidcConfig, **kwargs) -> None:
        self.config = config
        self._settings = _library_settings(config)
        super().__init__(*args, **kwargs)

    def get_settings(self, attr, *args):  # type: ignore[override]
        if attr in self._settings:
            return self._settings[attr]
        return getattr(settings, attr, *args)


@dataclasses.dataclass(frozen=True)
class OidcAssertion:
    subject: str
    acr: str
    id_token: str
    claims: dict[str, Any]


class OidcClient(OIDCAuthenticationBackend):
    """The library's backend used as a client: code → tokens → verified claims. Not an authentication backend."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._settings = _library_settings(config)
        super().__init__()

    def get_settings(self, attr, *args):  # type: ignore[override]
        if attr in self._settings:
            return self._settings[attr]
        return getattr(settings, attr, *args)

    def authenticate(self, request, **kwargs):  # pragma: no cover — never used as a backend
        return None

    def _verify_jws(self, payload, key):
        """The library checks the algorithm and the signature only; we also require and check aud, iss, exp, iat."""
        try:
            header = jwt.get_unverified_header(payload)
        except jwt.PyJWTError as exc:
            raise SsoRefusal("sso_token_invalid", "无法解析") from exc
        if header.get("alg") != self.config.sign_algo:
            raise SsoRefusal("sso_token_signature")
        try:
            return jwt.decode(
                payload, key, algorithms=[self.config.sign_algo], audience=self.config.client_id,
                issuer=self.config.issuer, leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.InvalidSignatureError as exc:
            raise SsoRefusal("sso_token_signature") from exc
        except jwt.InvalidAudienceError as exc:
            raise SsoRefusal("sso_token_audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise SsoRefusal("sso_token_issuer") from exc
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError) as exc:
            raise SsoRefusal("sso_token_expired") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise SsoRefusal("sso_token_invalid", f"缺少 {exc.claim}") from exc
        except jwt.PyJWTError as exc:  # DecodeError and the rest: a token that is not a valid JWS
            raise SsoRefusal("sso_token_signature") from exc

    def exchange(self, request: HttpRequest, *, code: str, nonce: str, code_verifier: str | None) -> OidcAssertion:
        """Redeem the code (with the PKCE verifier), verify the ID token; nothing is written here."""
        self.request = request
        from django.urls import reverse
        from mozilla_django_oidc.utils import absolutify

        payload = {
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": absolutify(request, reverse(CALLBACK_URL_NAME)),
        }
        if code_verifier is not None:
            payload["code_verifier"] = code_verifier
        try:
            token_info = self.get_token(payload)
        except requests.HTTPError as exc:
            logger.warning("oidc token endpoint refused the code: %s", exc)
            raise SsoRefusal("sso_token_rejected") from exc
        except (requests.RequestException, ValueError) as exc:
            logger.warning("oidc token endpoint unreachable: %s", exc)
            raise SsoRefusal("sso_unavailable") from exc
        id_token = token_info.get("id_token") if isinstance(token_info, dict) else None
        if not id_token or not isinstance(id_token, str):
            raise SsoRefusal("sso_token_missing")
        try:
            claims = self.verify_token(id_token, nonce=nonce)
        except SuspiciousOperation as exc:  # the library's: nonce mismatch, no matching JWK, alg mismatch
            text = str(exc)
            raise SsoRefusal("sso_token_nonce" if "Nonce" in text else "sso_token_signature") from exc
        except requests.RequestException as exc:  # the JWKS could not be fetched
            raise SsoRefusal("sso_unavailable") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 255:
            raise SsoRefusal("sso_token_invalid", "sub 缺失或过长")
        if self.config.userinfo_endpoint and token_info.get("access_token"):
            # Only to be sure the provider's two answers agree (OIDC Core §5.3.2); the key stays the ID token's sub.
            try:
                info = self.get_userinfo(token_info["access_token"], id_token, claims)
            except (requests.RequestException, ValueError) as exc:
                raise SsoRefusal("sso_unavailable") from exc
            if isinstance(info, dict) and info.get("sub") not in (None, subject):
                raise SsoRefusal("sso_userinfo_mismatch")
        acr = claims.get("acr")
        return OidcAssertion(subject=subject, acr=acr if isinstance(acr, str) else "", id_token=id_token,
                             claims=claims)


def end_session_url(config: OidcConfig, *, id_token: str, post_logout_redirect_uri: str) -> str:
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) when the provider offers it, else ""."""
    if not config.end_session_endpoint:
        return ""
    from urllib.parse import urlencode

    separator = "&" if "?" in config.end_session_endpoint else "?"
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": post_logout_redirect_uri,
                       "client_id": config.client_id})
    return f"{config.end_session_endpoint}{separator}{query}"
