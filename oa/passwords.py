"""Password rules of 等保三级 (docs/security.md): ≥8 characters, ≥3 of 4 classes, no username, last 5 unused."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError


class MinimumLengthValidator:
    def __init__(self, min_length: int = 8) -> None:
        self.min_length = min_length

    def validate(self, password: str, user=None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                "密码长度不足：至少需要 %(n)d 个字符。", code="password_too_short", params={"n": self.min_length}
            )

    def get_help_text(self) -> str:
        return f"密码至少 {self.min_length} 个字符。"


def character_classes(password: str) -> int:
    return sum(
        [
            any(c.isascii() and c.isupper() for c in password),
            any(c.isascii() and c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )


class CharacterClassValidator:
    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(
                "密码须包含大写字母、小写字母、数字、特殊字符中的至少 %(n)d 类。",
                code="password_too_simple",
                params={"n": self.min_classes},
            )

    def get_help_text(self) -> str:
        return f"须包含大写字母、小写字母、数字、特殊字符中的至少 {self.min_classes} 类。"


class NoUsernameValidator:
    def validate(self, password: str, user=None) -> None:
        username = getattr(user, "username", "") or ""
        if username and username.lower() in password.lower():
            raise ValidationError("密码不能包含用户名。", code="password_contains_username")

    def get_help_text(self) -> str:
        return "密码不能包含用户名。"


class HistoryValidator:
    """The current password and the previous ones (OA_PASSWORD_HISTORY in all) may not be reused."""

    def validate(self, password: str, user=None) -> None:
        if user is None or not getattr(user, "pk", None):
            return
        depth = settings.OA_PASSWORD_HISTORY
        recent = [user.password] if user.password else []
        recent += list(user.password_history.values_list("password", flat=True)[: depth - 1])
        if any(check_password(password, encoded) for encoded in recent):
            raise ValidationError(
                "不能使用最近 %(n)d 次用过的密码。", code="password_reused", params={"n": depth}
            )

    def get_help_text(self) -> str:
        return f"不能与最近 {settings.OA_PASSWORD_HISTORY} 次用过的密码相同。"
