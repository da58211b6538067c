"""统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character over the first 17."""

from __future__ import annotations

from django.core.exceptions import ValidationError

# The code alphabet excludes I, O, S, V and Z (GB 32100-2015 表1).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# 第1位 登记管理部门码, 第2位 机构类别码 (only these combinations are defined).
CATEGORIES = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 编办直管群团, 其他
    "2": "19",  # 外交
    "3": "1234589",  # 司法行政
    "4": "19",  # 文化
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "19",  # 工会
    "9": "123",  # 市场监管(工商): 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 军队
    "N": "12349",  # 农业农村: 组级/村级/乡镇级集体经济组织
    "Y": "1",  # 其他
}


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> None:
    """Raise ValidationError with a message that names the bad character and its position."""
    code = (value or "").strip()
    if len(code) != 18:
        raise ValidationError(
            "统一社会信用代码应为18位，当前为%(n)d位。", code="uscc_length", params={"n": len(code)}
        )
    for pos, ch in enumerate(code, start=1):
        if ch not in ALPHABET:
            raise ValidationError(
                "统一社会信用代码第%(pos)d位的字符“%(ch)s”不合法（只允许数字和除 I、O、S、V、Z 以外的大写字母）。",
                code="uscc_char",
                params={"pos": pos, "ch": ch},
            )
    if code[0] not in CATEGORIES or code[1] not in CATEGORIES[code[0]]:
        raise ValidationError(
            "统一社会信用代码前两位“%(p)s”不是有效的登记管理部门码和机构类别码。",
            code="uscc_category",
            params={"p": code[:2]},
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            "统一社会信用代码第3至8位应为行政区划码（6位数字），当前为“%(d)s”。",
            code="uscc_region",
            params={"d": code[2:8]},
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            "统一社会信用代码第18位校验码“%(ch)s”错误，按 GB 32100-2015 计算应为“%(exp)s”。",
            code="uscc_check",
            params={"ch": code[17], "exp": expected},
        )


def make_uscc(first17: str) -> str:
    """Complete a 17-character prefix with its check character (used by the demo district and tests)."""
    return first17 + check_character(first17)
