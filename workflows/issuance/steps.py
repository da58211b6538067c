"""What each 发文 step is: its name, who may edit what, whether 2FA is required, its time limit, its decisions.

One table, read by the flow (assignment, access grants, deadlines), the step action (validation) and the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from documents.actions.documents import EDITABLE_FIELDS

# Decisions a step page offers (value → button label). Opinion kinds are recorded from them.
AGREE, CIRCLE, VETO, CHANGED, DONE = "agree", "circle", "veto", "changed", "done"

_REVIEW_FIELDS = frozenset({"title", "main_recipients", "cc", "attachment_note", "notes", "urgency", "is_important"})
_OFFICE_FIELDS = frozenset(EDITABLE_FIELDS) - {"signers"}


@dataclass(frozen=True)
class Step:
    label: str
    fields: frozenset[str] = frozenset()  # 要素 this step may change (check_update_document(allowed=…))
    body: bool = False  # may edit the 正文 (its edits are versions attributed to the person: 痕迹)
    needs_otp: bool = False  # 2FA-verified session required (签发, 用印)
    # 签发: the step page asks for a fresh 动态口令 at the moment of signing (one more tap, after every other check).
    confirm_code: bool = False
    limit_days: int = 2  # working days before the step is overdue and 催办 automatically
    decisions: tuple[tuple[str, str], ...] = ((AGREE, "同意"),)
    opinion_required: bool = False
    returnable: bool = True  # may 退回 from here
    extra: tuple[str, ...] = field(default_factory=tuple)


STEPS: dict[str, Step] = {
    "redraft": Step("修改稿件", fields=frozenset(EDITABLE_FIELDS), body=True, limit_days=3,
                    decisions=((DONE, "修改完毕，重新送审"),), returnable=False),
    "dept_review": Step("部门负责人审核", fields=_REVIEW_FIELDS, body=True, decisions=((AGREE, "审核同意"),)),
    "office_check": Step("办公室核稿", fields=_OFFICE_FIELDS, body=True, decisions=((AGREE, "核稿通过"),)),
    "countersign": Step("会签", limit_days=3, decisions=((AGREE, "同意"), (VETO, "不同意")), returnable=True),
    "seq_countersign": Step("会签", limit_days=3, decisions=((AGREE, "同意"),)),
    "signoff": Step("签发", body=True, needs_otp=True, confirm_code=True, decisions=((AGREE, "签发"), (CIRCLE, "圈阅（视为同意）"))),
    "recheck": Step("复核", body=True, limit_days=1,
                    decisions=((AGREE, "复核无误"), (CHANGED, "有实质性修改，退签发人重签"))),
    "register": Step("登记", limit_days=1, decisions=((DONE, "登记并编号"),), returnable=False),
    "typeset": Step("套红排版", fields=frozenset({"printing_org", "printing_date", "copy_number"}), limit_days=1,
                    decisions=((DONE, "排版完成"),), returnable=False),
    "seal": Step("用印", needs_otp=True, limit_days=1, decisions=((DONE, "盖章"),), returnable=False),
    "distribute": Step("分发", limit_days=1, decisions=((DONE, "分发"),), returnable=False,
                       extra=("recipients",)),
    "archive": Step("归档", limit_days=5, decisions=((DONE, "归档"),), returnable=False, extra=("retention",)),
    "addsign": Step("加签", decisions=((AGREE, "同意"),)),
}


def step_of(node_name: str) -> Step:
    return STEPS[node_name]
