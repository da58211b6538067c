"""Import rules between the apps, read from the source with ``ast`` (docs/architecture.md).

Every import counts, at module level or inside a function (a late import is still a dependency). A package is a
Django app: a top-level directory, and for integrations/ each integration (integrations.exchange, …) — they are
separate apps that must not lean on one another through the domain. The rules:

- oa/ (the core) imports no app; only oa/settings.py, the composition root, names them.
- documents/ does not import workflows/ (documents are the engine; flows use it, not the other way round).
- integrations/ does not import frontend/.
- no cycle between packages: apps meet through registries in the core (oa.tiles, oa.work, oa.actions.outbox)
  and workflows.transports / workflows.inbound, not through each other.

And one rule about refusals: actions and selectors refuse with ``oa.refusals.Refusal``, never Django's
``ValidationError`` (a form's type), except the modules in VALIDATION_ERROR_ALLOWED, each with its reason.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.astparse import parse

ROOT = Path(__file__).resolve().parent.parent
APPS = ("oa", "documents", "workflows", "integrations", "frontend", "meetings", "supervision")
SPLIT = ("integrations",)  # each first-level subpackage is a package of its own
COMPOSITION_ROOTS = ("oa.settings",)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "oa": tuple(a for a in APPS if a != "oa"),
    "documents": ("workflows",),
    "integrations": ("frontend",),
}


@dataclass(frozen=True)
class Import:
    source: str  # importing module, e.g. "oa.views.home"
    target: str  # imported module, e.g. "frontend.tiles"
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.source} → {self.target}"


def modules_of(root: Path, apps: tuple[str, ...] = APPS) -> dict[str, tuple[Path, bool]]:
    """Module name → (file, is_package) for every .py file of the apps (migrations left out)."""
    found = {}
    for app in apps:
        if not (root / app).is_dir():
            continue
        for path in sorted((root / app).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if "migrations" in parts:
                continue
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join(parts)] = (path, is_package)
    return found


def imports_of(root: Path, apps: tuple[str, ...] = APPS) -> list[Import]:
    modules = modules_of(root, apps)
    result = []
    for name, (path, is_package) in modules.items():
        here = name if is_package else name.rpartition(".")[0]
        rel = str(path.relative_to(root))
        for node in ast.walk(parse(path.read_text(encoding="utf-8"), filename=rel)):
            if isinstance(node, ast.Import):
                result += [Import(name, alias.name, rel, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"  # `from pkg import module` imports that module
                    result.append(Import(name, sub if sub in modules else module, rel, node.lineno))
    return result


def package_of(module: str, apps: tuple[str, ...] = APPS) -> str | None:
    parts = module.split(".")
    if parts[0] not in apps:
        return None  # django, third-party, stdlib
    if parts[0] in SPLIT and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def forbidden_imports(imports: list[Import], apps: tuple[str, ...] = APPS) -> list[Import]:
    bad = []
    for imp in imports:
        if imp.source in COMPOSITION_ROOTS:
            continue
        src, dst = imp.source.split(".")[0], package_of(imp.target, apps)
        if dst is not None and dst.split(".")[0] in FORBIDDEN.get(src, ()):
            bad.append(imp)
    return list(dict.fromkeys(bad))  # `from x import a, b` is one import


def package_cycles(imports: list[Import], apps: tuple[str, ...] = APPS) -> list[list[str]]:
    """Strongly connected components of the package graph with more than one package (Tarjan), each listed as
    the package names followed by one import per edge inside the component, so the failure says where."""
    graph: dict[str, set[str]] = defaultdict(set)
    witness: dict[tuple[str, str], Import] = {}
    for imp in imports:
        if imp.source in COMPOSITION_ROOTS:
            continue
        a, b = package_of(imp.source, apps), package_of(imp.target, apps)
        if a and b and a != b:
            graph[a].add(b)
            witness.setdefault((a, b), imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                members = sorted(component)
                edges = [str(witness[(x, y)]) for x in members for y in sorted(graph[x]) if y in component]
                components.append([" ↔ ".join(members), *edges])

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


# Modules of actions/ or selectors/ that may raise django.core.exceptions.ValidationError, and why.
VALIDATION_ERROR_ALLOWED: dict[str, str] = {
    "oa/selectors/calendar.py": "check_calendar_day is a validator: the file parser lists its messages line by line "
                                "and the admin's day forms attach them to the date field",
}
DJANGO_VALIDATION_ERROR = {"django.core.exceptions.ValidationError", "django.forms.ValidationError"}


def is_layer_module(rel: str) -> bool:
    """actions/ and selectors/ packages, and single-module actions.py / selectors.py (integrations)."""
    parts = Path(rel).parts
    return "actions" in parts[:-1] or "selectors" in parts[:-1] or parts[-1] in ("actions.py", "selectors.py")


def validation_error_raises(root: Path, apps: tuple[str, ...] = APPS) -> list[str]:
    """`path:line` of every `raise` of Django's ValidationError in actions/selectors, however it was imported."""
    found = []
    for path, _ in modules_of(root, apps).values():
        rel = str(path.relative_to(root))
        if not is_layer_module(rel):
            continue
        tree = parse(path.read_text(encoding="utf-8"), filename=rel)
        names: dict[str, str] = {}  # local name → what it is, e.g. "forms" → "django.forms"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:  # `import a.b` binds a; `import a.b as c` binds c to a.b
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:
                        names[alias.name.partition(".")[0]] = alias.name.partition(".")[0]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            dotted = []
            while isinstance(target, ast.Attribute):
                dotted.insert(0, target.attr)
                target = target.value
            if not isinstance(target, ast.Name):
                continue
            full = ".".join([names.get(target.id, target.id), *dotted])
            if full in DJANGO_VALIDATION_ERROR:
                found.append(f"{rel}:{node.lineno}")
    return found


# ---- the rules on this repository --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return imports_of(ROOT)


def test_core_and_layers_import_only_what_they_may(imports):
    bad = forbidden_imports(imports)
    assert not bad, "forbidden imports (docs/architecture.md):\n" + "\n".join(map(str, bad))


def test_no_cycle_between_packages(imports):
    cycles = package_cycles(imports)
    assert not cycles, "import cycles between packages:\n" + "\n\n".join("\n  ".join(c) for c in cycles)


def test_the_scan_sees_every_app_and_late_imports(imports):
    """Guards the checker against silently scanning nothing: known edges of this code base are found."""
    found = {(i.source, i.target) for i in imports}
    assert ("integrations.exchange.apps", "workflows.transports") in found  # function-level, in ready()
    assert ("integrations.exchange.apps", "integrations.exchange.transport") in found  # relative
    assert {package_of(i.source) for i in imports} >= {"oa", "documents", "workflows", "frontend",
                                                        "integrations.exchange", "integrations.ldap"}


def test_actions_and_selectors_refuse_with_refusal_not_validation_error():
    raises = validation_error_raises(ROOT)
    bad = [r for r in raises if r.partition(":")[0] not in VALIDATION_ERROR_ALLOWED]
    assert not bad, "raise oa.refusals.Refusal(code, message, status) instead (docs/architecture.md):\n" + "\n".join(bad)
    # The allow-list stays honest: each module on it still raises one (else take it off).
    assert {r.partition(":")[0] for r in raises} == set(VALIDATION_ERROR_ALLOWED)


# ---- the checker itself, on a synthetic tree -----------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_finds_forbidden_imports_and_cycles(tmp_path):
    _tree(tmp_path, {
        "oa/__init__.py": "",
        "oa/settings.py": "from integrations.storage import config\n",  # composition root: allowed
        "oa/home.py": "def home():\n    from frontend.tiles import tiles_for\n",  # late import still counts
        "frontend/__init__.py": "",
        "frontend/tiles.py": "from oa import home\n",
        "documents/__init__.py": "",
        "documents/actions.py": "import workflows.flows\n",
        "workflows/__init__.py": "",
        "workflows/flows.py": "from integrations.exchange.actions import send\n",
        "integrations/__init__.py": "",
        "integrations/storage/__init__.py": "",
        "integrations/storage/config.py": "",
        "integrations/exchange/__init__.py": "",
        "integrations/exchange/actions.py": "from ..exchange import widgets\nfrom . import helpers\n",
        "integrations/exchange/helpers.py": "def f():\n    from workflows import flows\n",
        "integrations/exchange/widgets.py": "from frontend.tiles import x\n",
        "migrations_only/__init__.py": "",
    })
    imports = imports_of(tmp_path)
    bad = {(i.source, i.target) for i in forbidden_imports(imports)}
    assert bad == {
        ("oa.home", "frontend.tiles"),
        ("documents.actions", "workflows.flows"),
        ("integrations.exchange.widgets", "frontend.tiles"),
    }
    cycles = package_cycles(imports)
    heads = sorted(c[0] for c in cycles)
    assert heads == ["frontend ↔ oa", "integrations.exchange ↔ workflows"]
    oa_cycle = next(c for c in cycles if c[0] == "frontend ↔ oa")
    assert any("oa/home.py:2 oa.home → frontend.tiles" in line for line in oa_cycle[1:])
    assert any("integrations/exchange/helpers.py:2" in line for line in next(c for c in cycles if c is not oa_cycle))


def test_checker_is_quiet_on_a_clean_tree(tmp_path):
    _tree(tmp_path, {
        "oa/__init__.py": "",
        "oa/tiles.py": "import django\n",
        "frontend/__init__.py": "",
        "frontend/apps.py": "def ready():\n    from oa.tiles import register\n",
        "workflows/__init__.py": "",
        "workflows/transports.py": "from oa import tiles\n",
        "integrations/__init__.py": "",
        "integrations/exchange/__init__.py": "",
        "integrations/exchange/apps.py": "from workflows.transports import register\n",
    })
    imports = imports_of(tmp_path)
    assert forbidden_imports(imports) == [] and package_cycles(imports) == []


def test_validation_error_checker_resolves_imports(tmp_path):
    _tree(tmp_path, {
        "oa/__init__.py": "",
        "oa/actions/__init__.py": "",
        "oa/actions/a.py": "from django.core.exceptions import ValidationError\ndef f():\n    raise ValidationError('x')\n",
        "oa/actions/b.py": "from django import forms\ndef f():\n    raise forms.ValidationError('x')\n",
        "oa/actions/c.py": "import django.core.exceptions\ndef f():\n    raise django.core.exceptions.ValidationError\n",
        "oa/actions/d.py": "from django.core.exceptions import ValidationError as VE\ndef f():\n    raise VE('x')\n",
        "oa/selectors/__init__.py": "",
        "oa/selectors/e.py": "from rest_framework import serializers\ndef f():\n    raise serializers.ValidationError('x')\n",
        "oa/selectors/f.py": "from oa.refusals import Refusal\ndef f():\n    raise Refusal('c', 'm')\n",
        "oa/views.py": "from django.core.exceptions import ValidationError\ndef f():\n    raise ValidationError('x')\n",
        "integrations/__init__.py": "",
        "integrations/x/__init__.py": "",
        "integrations/x/actions.py": "from django.forms import ValidationError\ndef f():\n    raise ValidationError('x')\n",
    })
    assert sorted(validation_error_raises(tmp_path)) == [
        "integrations/x/actions.py:3", "oa/actions/a.py:3", "oa/actions/b.py:3", "oa/actions/c.py:3",
        "oa/actions/d.py:3",
    ]


@pytest.mark.django_db
def test_models_and_migrations_agree():
    # A model change without its migration (e.g. new Role choices that Seal.holder_role copies) would only
    # surface on a production `migrate`; two leaf migrations in one app would stop it outright.
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:
        pytest.fail(f"models changed without a migration:\n{out.getvalue()} (exit {exit_.code})")
