"""ast.parse for the source-scanning tests, safe against CPython 3.11's shared AST-conversion counter.

In 3.11 the counter that PyAST_mod2obj checks ("AST constructor recursion depth mismatch") lives in the
interpreter, not the thread; another thread building AST objects at the same moment — e.g. a live server thread
formatting a traceback, which in 3.11 calls ast.parse for the caret anchors — makes a correct parse fail with
SystemError. The parse is pure, so it is simply done again.
"""

from __future__ import annotations

import ast


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    for _ in range(4):
        try:
            return ast.parse(source, filename=filename, mode=mode)
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc):
                raise
    return ast.parse(source, filename=filename, mode=mode)
