"""非涉密 only (docs/security.md §12): GB/T 33481 e-seals, the exchange and the mobile platform carry no classified
document, so this system drafts none and never typesets, seals, pushes or exchanges one.

A document marked 秘密/机密/绝密 is refused at 拟稿 (nothing stored). A deployment may still register the metadata of
a classified paper 收文 (标题、文号、密级 … for the 收文登记簿); every act that would put such a record (or a legacy
classified 公文 row) into a file, a seal, the mobile platform or the exchange calls ``refuse_classified`` first.
"""

from __future__ import annotations

from typing import Any

from oa.refusals import Refusal

CLASSIFIED_LEVELS = {"mimi": "秘密", "jimi": "机密", "juemi": "绝密"}
CODE = "classified_not_allowed"
WHERE_INSTEAD = "涉密公文请按保密规定在涉密网络或以纸质方式办理"


def is_classified(obj: Any) -> bool:
    """True for a 公文 or 收文 (anything with a ``secrecy`` choice) marked 秘密/机密/绝密."""
    return getattr(obj, "secrecy", "") in CLASSIFIED_LEVELS


def refuse_classified_draft(secrecy: str) -> None:
    """拟稿 and 要素: the system takes 非涉密 documents only."""
    if secrecy in CLASSIFIED_LEVELS:
        raise Refusal(CODE, f"本系统只处理非涉密公文，不能拟制标注“{CLASSIFIED_LEVELS[secrecy]}”的公文。{WHERE_INSTEAD}。")


def refuse_classified(obj: Any, act: str) -> None:
    """Refuse ``act`` (排版、用印、推送到移动平台、交换 …) on a classified record; nothing is done."""
    if is_classified(obj):
        level = CLASSIFIED_LEVELS[obj.secrecy]
        title = getattr(obj, "title", "") or ""
        raise Refusal(CODE, f"“{title[:60]}”标注为{level}，本系统只处理非涉密公文，不能{act}。{WHERE_INSTEAD}。",
                      status=409)
