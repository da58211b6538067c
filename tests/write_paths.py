"""Find writes to oa/documents/workflows tables outside the actions layer, by reading the source with `ast`.

Used by tests/test_write_paths.py (docs/architecture.md, "写入路径"). Static analysis without type inference
cannot see every write, so it recognises the forms writes take in this code base:

- `Model.objects….create/update/delete/get_or_create/update_or_create/bulk_create/bulk_update(…)` where
  `Model` was imported from `oa.models`, `documents.models` or `workflows.models`;
- `x.save()` / `x.delete()` / `x.refresh…` where `x` is known to hold a model instance: a parameter annotated
  with such a model, a name assigned from `Model(…)` or from a query on `Model.objects`, or a loop variable
  over such a query; and the same write methods on a related manager of such an instance
  (`person.appointments.filter(…).update(…)`, `person.groups.add(…)`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.astparse import parse

ROOT = Path(__file__).resolve().parent.parent
APPS = ("oa", "documents", "workflows", "integrations", "frontend", "meetings", "supervision")
MODEL_MODULES = ("oa.models", "documents.models", "workflows.models")
QUERYSET_WRITES = {"create", "update", "delete", "get_or_create", "update_or_create", "bulk_create", "bulk_update"}
INSTANCE_WRITES = {"save", "delete"}
RELATED_WRITES = QUERYSET_WRITES | {"add", "remove", "set", "clear"}
# Methods whose result is (a queryset of / an instance of) the model they are called on.
QUERY_METHODS = {"get", "first", "last", "create", "get_or_create", "update_or_create", "earliest", "latest",
                 "select_for_update", "filter", "exclude", "all", "select_related", "prefetch_related", "order_by",
                 "only", "defer", "iterator", "objects", "_default_manager"}


@dataclass(frozen=True)
class Write:
    path: str  # relative to the repository root
    function: str  # enclosing function ("<module>" at top level)
    call: str  # the call as written, e.g. "Person.objects.create"

    def __str__(self) -> str:
        return f"{self.path}:{self.function}: {self.call}"


def is_actions_module(rel: str) -> bool:
    parts = rel.split("/")
    return "actions" in parts[:-1] or parts[-1] == "actions.py"


def is_selectors_module(rel: str) -> bool:
    parts = rel.split("/")
    return "selectors" in parts[:-1] or parts[-1] == "selectors.py"


def scanned_files() -> list[str]:
    files = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel or "/tests/" in rel:
                continue
            files.append(rel)
    return files


def _root_and_chain(node: ast.expr) -> tuple[ast.expr, list[str]]:
    """`a.b(…).c.d` → (Name a, ["b", "c", "d"]); calls and subscripts in between are looked through."""
    chain: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return node, list(reversed(chain))


def _annotation_names(node: ast.expr | None) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = parse(node.value, mode="eval").body
        except SyntaxError:
            return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class _Scanner(ast.NodeVisitor):
    def __init__(self, rel: str, models: set[str]) -> None:
        self.rel = rel
        self.models = models
        self.found: list[Write] = []
        self.function = "<module>"
        self.instances: set[str] = set()

    # --- what holds a model instance ------------------------------------------------------------------

    def _is_model_expr(self, node: ast.expr) -> bool:
        root, chain = _root_and_chain(node)
        if not isinstance(root, ast.Name):
            return False
        if root.id in self.models:
            # Model(…) or Model.objects.<query>(…)
            return not chain or (chain[0] in {"objects", "_default_manager"} and set(chain) <= QUERY_METHODS)
        return root.id in self.instances and bool(chain) and set(chain[-1:]) <= {"first", "last", "get"}

    def _bind(self, target: ast.expr, value: ast.expr) -> None:
        if not self._is_model_expr(value):
            return
        if isinstance(target, ast.Name):
            self.instances.add(target.id)
        elif isinstance(target, ast.Tuple) and target.elts and isinstance(target.elts[0], ast.Name):
            self.instances.add(target.elts[0].id)  # obj, created = Model.objects.get_or_create(…)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer, outer_instances = self.function, self.instances
        self.function = node.name if outer == "<module>" else f"{outer}.{node.name}"
        self.instances = set(outer_instances)
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if _annotation_names(arg.annotation) & self.models:
                self.instances.add(arg.arg)
        self.generic_visit(node)
        self.function, self.instances = outer, outer_instances

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)
        if isinstance(node.target, ast.Name) and _annotation_names(node.annotation) & self.models:
            self.instances.add(node.target.id)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        if isinstance(node.target, ast.Name) and self._is_model_expr(node.iter):
            self.instances.add(node.target.id)
        self.generic_visit(node)

    # --- the writes --------------------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute):
            method = node.func.attr
            root, chain = _root_and_chain(node.func.value)
            name = root.id if isinstance(root, ast.Name) else ""
            write = False
            if name in self.models and method in QUERYSET_WRITES and chain[:1] in (["objects"], ["_default_manager"]):
                write = True
            elif name in self.instances:
                if not chain and method in INSTANCE_WRITES:
                    write = True  # person.save()
                elif chain and method in RELATED_WRITES:
                    # person.appointments.filter(…).update(is_primary=False); a JSON field's dict.update({…})
                    # takes a positional mapping, a queryset's update keywords only.
                    write = not (method in {"update", "set", "add", "remove"} and node.args and not node.keywords)
            if write:
                self.found.append(Write(self.rel, self.function, ".".join([name, *chain, method])))
        self.generic_visit(node)


def model_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(MODEL_MODULES):
            names.update(a.asname or a.name for a in node.names if a.name[:1].isupper())
    return names


def writes_in(rel: str, source: str | None = None) -> list[Write]:
    """The writes in one module (path relative to the repository root; `source` instead of reading it)."""
    if source is None:
        source = (ROOT / rel).read_text(encoding="utf-8")
    tree = parse(source, filename=rel)
    scanner = _Scanner(rel, model_names(tree))
    scanner.visit(tree)
    return scanner.found


def writes_outside_actions() -> list[Write]:
    return [w for rel in scanned_files() if not is_actions_module(rel) for w in writes_in(rel)]
