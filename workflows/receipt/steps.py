"""What each 收文 step is: its name, its time limit, its decisions. One table, read by the flow (deadlines), the
step action (validation) and the step page, like workflows.issuance.steps."""

from __future__ import annotations

from dataclasses import dataclass

# Decisions a step page offers (value → button label).
SIGN, REGISTER, ACCEPT, RETURN_SENDER, PROPOSE, INSTRUCT = "sign", "register", "accept", "return_sender", "propose", "instruct"
DONE, ASSIST, CIRCULATE, CLOSE, ARCHIVE, AGREE = "done", "assist", "circulate", "close", "archive", "agree"


@dataclass(frozen=True)
class Step:
    label: str
    limit_days: int = 2  # working days before the step is overdue and 催办 automatically
    decisions: tuple[tuple[str, str], ...] = ((AGREE, "同意"),)
    opinion_label: str = "办理意见"
    opinion_required: bool = False


STEPS: dict[str, Step] = {
    "sign": Step("签收", limit_days=1, decisions=((SIGN, "签收"),), opinion_label="备注"),
    "register": Step("登记", limit_days=1, decisions=((REGISTER, "登记并编收文号"),), opinion_label="备注"),
    "review": Step("初审", limit_days=1, decisions=((ACCEPT, "初审通过"), (RETURN_SENDER, "退回来文单位")),
                   opinion_label="初审意见（退回来文单位时填写退回理由）"),
    "propose": Step("拟办", limit_days=1, decisions=((PROPOSE, "提交拟办意见"),), opinion_label="拟办意见",
                    opinion_required=True),
    "instruct": Step("批办", limit_days=2, decisions=((INSTRUCT, "批办"),), opinion_label="批办意见",
                     opinion_required=True),
    # 承办: the 主办 and every 协办 department hold one task each (task.data["role"] = "host" | "assist").
    "handle": Step("承办", limit_days=10, decisions=((DONE, "办理完毕"),), opinion_label="办理情况",
                   opinion_required=True),
    "circulate": Step("传阅", limit_days=1, decisions=((CIRCULATE, "确定"),), opinion_label="备注"),
    "close": Step("办结", limit_days=2, decisions=((CLOSE, "办结"),), opinion_label="备注"),
    "archive": Step("归档", limit_days=5, decisions=((ARCHIVE, "归档"),), opinion_label="备注"),
    "addsign": Step("加签", decisions=((AGREE, "同意"),), opinion_label="加签意见", opinion_required=True),
}

# 承办 as a 协办 department: same node, its own button.
ASSIST_DECISIONS = ((ASSIST, "提交协办意见"),)


# 传阅 of a 抄送件: the office's 阅知 ends its handling.
CC_CIRCULATE_DECISIONS = ((CIRCULATE, "阅知（抄送件办结）"),)


def decisions_for(node: str, role: str = "", *, cc: bool = False) -> tuple[tuple[str, str], ...]:
    if node == "handle" and role == "assist":
        return ASSIST_DECISIONS
    if node == "circulate" and cc:
        return CC_CIRCULATE_DECISIONS
    return STEPS[node].decisions
