"""Password rules of 等保三级 (docs/security.md): ≥8 characters, ≥3 of 4 classes, no username, last 5 unused,
not a common password (Django's list and a Chinese one)."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from pathlib import Path

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError

CHINESE_LIST_PATH = Path(__file__).resolve().parent / "password_data" / "common-zh.txt"


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


# --- common passwords -------------------------------------------------------------------------------------

# Numbers people pick for their meaning: 我爱你 520/521, 一生一世 1314, keypad lines and crosses.
LUCKY_NUMBERS = frozenset({"520", "521", "1314", "5201314", "1314520", "5211314", "168", "1688", "147258",
                           "147258369", "159357", "258369", "789456", "789456123", "741852", "963852"})


@functools.lru_cache(maxsize=4)
def load_chinese_list(path: str) -> tuple[frozenset[str], frozenset[str]]:
    """(whole passwords, words) from the shipped list; see the header of oa/password_data/common-zh.txt."""
    whole, words = set(), set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip().lower() if not line.startswith("=") else line[1:].strip().lower()
        if not entry:
            continue
        (whole if line.startswith("=") else words).add(entry)
    return frozenset(whole), frozenset(words)


def _is_run(digits: str) -> bool:
    """123…, 987…, 7890 (each digit one up, or one down, from the one before)."""
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(digits)}
    return len(digits) >= 3 and (steps == {1} or steps == {9})


def _is_date(digits: str) -> bool:
    if len(digits) == 4:
        return 1940 <= int(digits) <= 2099
    if len(digits) == 8:  # 19900315
        try:
            return 1940 <= dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).year <= 2099
        except ValueError:
            return False
    return False


def weak_number(digits: str) -> bool:
    """Digits that add nothing an attacker would not try first: none or two, a year or a birthday, a run, a
    repetition (888, 1212, 520520), a lucky number, or two of those in a row (2026520)."""
    if len(digits) <= 2 or digits in LUCKY_NUMBERS or _is_run(digits) or _is_date(digits):
        return True
    if any(digits == digits[:k] * (len(digits) // k) for k in range(1, len(digits) // 2 + 1) if len(digits) % k == 0):
        return True
    return any(
        (_is_date(digits[:i]) or digits[:i] in LUCKY_NUMBERS or _is_run(digits[:i]))
        and (digits[i:] in LUCKY_NUMBERS or _is_run(digits[i:]) or _is_date(digits[i:]) or len(set(digits[i:])) == 1)
        for i in range(3, len(digits) - 2)
    )


def _weak_letters(letters: str, words: frozenset[str]) -> bool:
    """A listed word, or two of them run together (zhangweiwoaini, jiedongzf)."""
    if letters in words:
        return True
    return any(letters[:i] in words and letters[i:] in words for i in range(1, len(letters)))


class CommonPasswordValidator(password_validation.CommonPasswordValidator):
    """Django's list of 20,000 common passwords, the shipped Chinese list, and Chinese patterns: a listed
    word (pinyin name, place, 政府/办公 words, woaini, keyboard rows; plus OA_COMMON_PASSWORD_WORDS) dressed
    with a weak number and at most three symbols — woaini1314, Zhangwei@1990, Jiedong@2026."""

    def __init__(self, password_list_path=password_validation.CommonPasswordValidator.DEFAULT_PASSWORD_LIST_PATH,
                 chinese_list_path: str | Path = CHINESE_LIST_PATH) -> None:
        super().__init__(password_list_path)
        self.chinese_list_path = str(chinese_list_path)

    def is_common(self, password: str) -> bool:
        lowered = password.lower().strip()
        whole, words = load_chinese_list(self.chinese_list_path)
        if lowered in self.passwords or lowered in whole:
            return True
        words = words | {w.strip().lower() for w in settings.OA_COMMON_PASSWORD_WORDS if w.strip()}
        letters = re.sub(r"[^a-z]", "", lowered)
        digits = re.sub(r"[^0-9]", "", lowered)
        symbols = re.sub(r"[a-z0-9]", "", lowered)
        return len(symbols) <= 3 and weak_number(digits) and (not letters or _weak_letters(letters, words))

    def validate(self, password: str, user=None) -> None:
        if self.is_common(password):
            raise ValidationError(
                "密码过于常见，容易被猜中（如连续数字加字母、“我爱你”拼音加纪念日、姓名或单位拼音加年份），请换一个。",
                code="password_too_common",
            )

    def get_help_text(self) -> str:
        return "不能使用常见密码（如连续数字加字母、“我爱你”拼音加纪念日、姓名或单位拼音加年份）。"
