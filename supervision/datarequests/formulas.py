"""Safe arithmetic formulas over the fields of one form (docs/datarequests.md 计算公式).

A formula is parsed with ``ast`` in "eval" mode and only these nodes are accepted: numbers, field codes (names),
``+ - * /``, unary minus/plus and parentheses (which leave no node of their own). Depth and length are bounded.
Nothing is ever handed to eval/exec: ``evaluate`` walks the checked tree itself with Decimal arithmetic.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext

from oa.refusals import Refusal

MAX_LENGTH = 300
MAX_DEPTH = 12
MAX_NODES = 100
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_UNARY = (ast.UAdd, ast.USub)


def _refuse(label: str, message: str) -> Refusal:
    return Refusal("formula_invalid", f"“{label}”的计算公式{message}")


def parse_formula(text: str, *, label: str = "该字段") -> ast.expr:
    """The checked expression tree, or Refusal(formula_invalid) with a Chinese message saying what is wrong."""
    text = (text or "").strip()
    if not text:
        raise _refuse(label, "为空。")
    if len(text) > MAX_LENGTH:
        raise _refuse(label, f"过长（不超过 {MAX_LENGTH} 个字符）。")
    text = text.replace("（", "(").replace("）", ")").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        raise _refuse(label, f"“{text}”写法不对：只能用指标代码、数字、+ - * / 和括号。") from None
    count = 0

    def check(node: ast.AST, depth: int) -> None:
        nonlocal count
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            raise _refuse(label, "嵌套太深或太长，请拆成几个计算字段。")
        if isinstance(node, ast.BinOp) and isinstance(node.op, _BINOPS):
            check(node.left, depth + 1)
            check(node.right, depth + 1)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
            check(node.operand, depth + 1)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            pass
        elif isinstance(node, ast.Name):
            pass
        else:
            raise _refuse(label, "只能用指标代码、数字、+ - * / 和括号（不能用函数、比较、乘方或其他符号）。")

    check(tree.body, 0)
    return tree.body


def names_in(tree: ast.AST) -> list[str]:
    """The field codes a checked formula refers to, in order of first appearance."""
    return list(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))


def evaluate(tree: ast.AST, values: Mapping[str, Decimal | None]) -> Decimal | None:
    """The value of a checked formula; None when a referenced value is empty or a division by zero occurs."""

    def ev(node: ast.AST) -> Decimal | None:
        if isinstance(node, ast.Constant):
            return Decimal(str(node.value))
        if isinstance(node, ast.Name):
            return values.get(node.id)
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if b == 0:
                return None
            return a / b
        raise ValueError(f"unchecked node {type(node).__name__}")  # parse_formula let nothing else through

    with localcontext() as ctx:
        ctx.prec = 28
        ctx.traps[DivisionByZero] = True
        try:
            return ev(tree)
        except (InvalidOperation, DivisionByZero):
            return None


def check_formulas(fields: Iterable[tuple[str, str, str, bool]]) -> list[str]:
    """Validate every formula of one form: (code, label, formula, numeric) per field. Refuses a formula that refers
    to a code the form lacks (formula_missing_field), to a non-numeric field, or a cycle. Returns the codes of the
    computed fields in an order in which each one's inputs come first."""
    fields = list(fields)
    by_code = {code: (label, formula, numeric) for code, label, formula, numeric in fields}
    deps: dict[str, list[str]] = {}
    for code, label, formula, _numeric in fields:
        if not formula:
            continue
        refs = names_in(parse_formula(formula, label=label))
        for ref in refs:
            if ref not in by_code:
                known = "、".join(c for c, *_ in fields if c != code) or "（无）"
                raise Refusal("formula_missing_field",
                              f"“{label}”的计算公式引用了本表没有的字段“{ref}”。本表字段代码：{known}。")
            if not by_code[ref][2]:
                raise Refusal("formula_not_numeric", f"“{label}”的计算公式引用了非数值字段“{by_code[ref][0]}”。")
        deps[code] = refs
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(code: str, path: list[str]) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            names = " → ".join(by_code[c][0] for c in [*path, code])
            raise Refusal("formula_cycle", f"计算公式循环引用：{names}。")
        state[code] = 1
        for ref in deps.get(code, []):
            if ref in deps:
                visit(ref, [*path, code])
        state[code] = 2
        order.append(code)

    for code in deps:
        visit(code, [])
    return order
