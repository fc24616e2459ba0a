"""The shape of the house (STYLE.md, "Shape of the house"; README, "How the code is laid out").

Apps depend one way: accounts <- billing <- licensing, support beside licensing, staff on top.
Inside an app no two modules import each other, directly or round a longer loop, whether the
import is at the top of the file or inside a function (a local import only hides a cycle).
Every import is read from the source with ``ast``, so this test needs no app to load.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["accounts", "billing", "licensing", "support", "staff"]
# What each app may import, besides itself and config-free libraries.
ALLOWED = {
    "accounts": set(),
    "billing": {"accounts"},
    "licensing": {"accounts", "billing"},
    "support": {"accounts", "billing"},
    "staff": {"accounts", "billing", "licensing", "support"},
}


def _modules(app):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        yield name.removesuffix(".__init__"), path


def _imports(name, path):
    """Every module name this file imports (top level and inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module
            for alias in node.names:  # "from billing import lifecycle" imports a module
                yield f"{module}.{alias.name}"


def _graph():
    known = {name: path for app in APPS for name, path in _modules(app)}
    graph = {}
    for name, path in known.items():
        graph[name] = {target for target in _imports(name, path) if target in known and target != name}
    return graph


@pytest.mark.parametrize("app", APPS)
def test_no_app_imports_a_higher_one(app):
    wrong = sorted(
        f"{source} imports {target}"
        for source, targets in _graph().items() if source.split(".")[0] == app
        for target in targets
        if target.split(".")[0] != app and target.split(".")[0] not in ALLOWED[app]
    )
    assert not wrong, wrong


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("app", APPS)
def test_no_import_cycle_inside_an_app(app):
    graph = _graph()
    inside = {
        # A submodule importing its own package is no cycle: Python runs the package first anyway.
        source: {
            t for t in targets
            if t.split(".")[0] == app and t.count(".") and not source.startswith(t + ".")
        }
        for source, targets in graph.items() if source.split(".")[0] == app
    }
    assert _cycles(inside) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}) == [
        ["a.x", "a.y", "a.z"]
    ]


# --- one owner of the subscription (issue 12, item 1) -------------------------------------------

OWNED = {"Subscription", "SubscriptionAddOn", "ScheduledChange"}
WRITES = {"create", "get_or_create", "update_or_create", "bulk_create", "update", "delete"}


def _writes_of_owned_models(path):
    """(line, what) of every write of a subscription, its add-ons or its scheduled change: a
    ``Model.objects...<write>()`` chain, ``<subscription>.save()`` or ``change.delete()``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, target = node.func.attr, node.func.value
        if method in WRITES:
            chain = target
            while isinstance(chain, (ast.Call, ast.Attribute)):
                chain = chain.func if isinstance(chain, ast.Call) else chain.value
            if isinstance(chain, ast.Name) and chain.id in OWNED and ".objects" in ast.unparse(target):
                found.append((node.lineno, ast.unparse(node.func)))
        if method in ("save", "delete") and isinstance(target, ast.Name) and (
            "subscription" in target.id or target.id == "change"
        ):
            found.append((node.lineno, ast.unparse(node.func)))
    return found


def test_only_billing_subscriptions_writes_the_subscription():
    """STYLE.md: one writer per aggregate. Every other module calls a named transition of
    billing/subscriptions.py (its table is in that module and in docs/billing.md)."""
    offenders = []
    for app in APPS:
        for name, path in _modules(app):
            if name == "billing.subscriptions":
                continue
            offenders += [f"{name}:{line} {what}" for line, what in _writes_of_owned_models(path)]
    assert offenders == []


def test_the_writer_check_sees_a_write():
    """The check above would catch the writes the old code made in four modules."""
    sample = ROOT / "billing" / "subscriptions.py"
    assert len(_writes_of_owned_models(sample)) >= 8


# --- one line builder (issue 12, item 3) ----------------------------------------------------------

PRICING_NAMES = {"PriceLine", "OrderLine", "line_amount_cents"}


def _line_builders(path):
    """(line, name) of every construction of a priced line or call of the rounding rule."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in PRICING_NAMES:
                found.append((node.lineno, name))
    return found


def test_only_billing_pricing_builds_a_priced_line():
    """The cart, the quotes, the renewal and staff's ARR all price through
    ``billing.pricing.price_lines``: no other module makes a line or rounds an amount."""
    offenders = []
    for app in APPS:
        for name, path in _modules(app):
            if name == "billing.pricing":
                continue
            offenders += [f"{name}:{line} {what}" for line, what in _line_builders(path)]
    assert offenders == []


def test_the_line_builder_check_sees_a_line():
    assert len(_line_builders(ROOT / "billing" / "pricing.py")) >= 4
