"""A small typed wrapper around ldap3: connect, bind, paged search, check a user's password.

Every network failure becomes `DirectoryUnavailable` and a rejected service-account bind becomes
`DirectoryBindError`, both with a Chinese message an operator can act on; callers never see ldap3 types.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Self

from django.conf import settings
from ldap3 import NONE, SUBTREE, Connection, Server
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPException,
    LDAPResponseTimeoutError,
    LDAPSessionTerminatedByServerError,
    LDAPSocketOpenError,
)
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

# OpenLDAP returns operational attributes only when asked by name.
UUID_ATTR = "entryUUID"
PAGE_SIZE = 200
_NETWORK_ERRORS = (
    LDAPCommunicationError,
    LDAPSocketOpenError,
    LDAPResponseTimeoutError,
    LDAPSessionTerminatedByServerError,
    OSError,
)


class DirectoryError(Exception):
    """Base class; str(error) is a Chinese message fit for an operator or a log line."""


class DirectoryUnavailable(DirectoryError):
    pass


class DirectoryBindError(DirectoryError):
    pass


class DirectoryConfigError(DirectoryError):
    pass


@dataclass(frozen=True)
class LdapConfig:
    url: str
    bind_dn: str
    bind_password: str
    base_dn: str
    user_filter: str = "(objectClass=inetOrgPerson)"
    login_attr: str = "uid"
    concurrent_post_attr: str = "departmentNumber"
    timeout: int = 5

    @classmethod
    def from_settings(cls) -> LdapConfig:
        missing = [
            env for env, value in (("OA_LDAP_URL", settings.LDAP_URL), ("OA_LDAP_BASE_DN", settings.LDAP_BASE_DN))
            if not value
        ]
        if missing:
            raise DirectoryConfigError(f"目录服务未配置：缺少环境变量 {'、'.join(missing)}。")
        return cls(
            url=settings.LDAP_URL,
            bind_dn=settings.LDAP_BIND_DN or "",
            bind_password=settings.LDAP_BIND_PASSWORD or "",
            base_dn=settings.LDAP_BASE_DN,
            user_filter=settings.LDAP_USER_FILTER or "(objectClass=inetOrgPerson)",
            login_attr=settings.LDAP_LOGIN_ATTR or "uid",
            concurrent_post_attr=settings.LDAP_CONCURRENT_POST_ATTR or "departmentNumber",
            timeout=int(settings.LDAP_TIMEOUT or 5),
        )


@dataclass(frozen=True)
class Entry:
    """One search result: DN plus attribute values as lists of str (attribute names as returned)."""

    dn: str
    attrs: dict[str, list[str]] = field(default_factory=dict)

    def all(self, name: str) -> list[str]:
        for key, values in self.attrs.items():
            if key.lower() == name.lower():
                return [str(v) for v in values] if isinstance(values, list) else [str(values)]
        return []

    def first(self, name: str, default: str = "") -> str:
        values = self.all(name)
        return values[0].strip() if values else default

    @property
    def uuid(self) -> str:
        return self.first(UUID_ATTR).lower()


def normalize_dn(dn: str) -> str:
    """A comparison key for DNs: attribute types lower-cased, spaces around separators dropped, case folded."""
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPException:
        return dn.strip().lower()
    return ",".join(f"{attr.lower()}={value}" for attr, value, _sep in parts).lower()


def rdn_value(dn: str) -> str:
    """The value of the first RDN, unescaped: `ou=预算科,ou=…` → `预算科`."""
    attr_value = parse_dn(dn, escape=False, strip=True)[0][1]
    return _unescape(attr_value)


def parent_dn(dn: str) -> str:
    parts = parse_dn(dn, escape=False, strip=True)
    return ",".join(f"{attr}={value}" for attr, value, _sep in parts[1:])


def _unescape(value: str) -> str:
    out, i = bytearray(), 0
    raw = value.encode()
    while i < len(raw):
        ch = raw[i : i + 1]
        if ch == b"\\" and i + 1 < len(raw):
            pair = raw[i + 1 : i + 3]
            try:
                out.append(int(pair, 16))
                i += 3
                continue
            except ValueError:
                out += raw[i + 1 : i + 2]
                i += 2
                continue
        out += ch
        i += 1
    return out.decode(errors="replace")


class DirectoryClient:
    """One connection bound as the service account. Use as a context manager."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self._conn: Connection | None = None

    def _server(self) -> Server:
        # ldap3 rejects a trailing slash after the port ("ldap://host:389/").
        return Server(self.config.url.rstrip("/"), get_info=NONE, connect_timeout=self.config.timeout)

    def _unavailable(self, exc: BaseException) -> DirectoryUnavailable:
        return DirectoryUnavailable(f"目录服务器不可用（{self.config.url}）：{exc}。请检查网络或联系目录管理员。")

    def open(self) -> Self:
        conn = Connection(
            self._server(),
            user=self.config.bind_dn or None,
            password=self.config.bind_password or None,
            receive_timeout=self.config.timeout,
            raise_exceptions=False,
            read_only=True,
        )
        try:
            bound = conn.bind()
        except _NETWORK_ERRORS as exc:
            raise self._unavailable(exc) from exc
        except LDAPException as exc:
            raise DirectoryBindError(f"目录服务账号绑定失败（{self.config.bind_dn}）：{exc}。") from exc
        if not bound:
            desc = conn.result.get("description", "") if conn.result else ""
            raise DirectoryBindError(
                f"目录服务账号 {self.config.bind_dn or '（匿名）'} 绑定失败（{desc}）：请检查 OA_LDAP_BIND_DN 和 "
                "OA_LDAP_BIND_PASSWORD。"
            )
        self._conn = conn
        return self

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.unbind()
            except LDAPException:
                pass  # the connection is going away anyway
            self._conn = None

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(
        self, search_filter: str, attributes: Sequence[str], *, base: str | None = None, scope: str = SUBTREE
    ) -> Iterator[Entry]:
        """Paged subtree search under `base` (default the configured base DN); entryUUID is always requested."""
        if self._conn is None:
            raise RuntimeError("DirectoryClient.search() before open()")
        attrs = list(dict.fromkeys([*attributes, UUID_ATTR]))
        try:
            pages = self._conn.extend.standard.paged_search(
                search_base=base or self.config.base_dn,
                search_filter=search_filter,
                search_scope=scope,
                attributes=attrs,
                paged_size=PAGE_SIZE,
                generator=True,
            )
            for item in pages:
                if item.get("type") == "searchResEntry":
                    yield Entry(dn=item["dn"], attrs=dict(item.get("attributes") or {}))
        except _NETWORK_ERRORS as exc:
            raise self._unavailable(exc) from exc
        result = self._conn.result or {}
        if result.get("result", 0) not in (0, None):
            if result.get("description") == "noSuchObject":
                raise DirectoryConfigError(f"目录中不存在基准 DN“{base or self.config.base_dn}”，请检查 OA_LDAP_BASE_DN。")
            raise DirectoryUnavailable(f"目录查询失败（{result.get('description')}）：{result.get('message', '')}")

    def find_user(self, username: str, attributes: Sequence[str]) -> list[Entry]:
        """Entries whose login attribute equals `username`; the value is escaped (no filter injection)."""
        value = escape_filter_chars(username)
        search_filter = f"(&{self.config.user_filter}({self.config.login_attr}={value}))"
        return list(self.search(search_filter, attributes))

    def check_password(self, dn: str, password: str) -> bool:
        """Bind as `dn` on a fresh connection. False for a wrong password; DirectoryUnavailable when down."""
        if not password:
            return False  # an empty simple bind is an anonymous bind and would "succeed"
        conn = Connection(
            self._server(), user=dn, password=password, receive_timeout=self.config.timeout, raise_exceptions=False
        )
        try:
            ok = bool(conn.bind())
        except _NETWORK_ERRORS as exc:
            raise self._unavailable(exc) from exc
        except LDAPException:
            return False
        finally:
            try:
                conn.unbind()
            except LDAPException:
                pass
        return ok
