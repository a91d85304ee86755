"""The metric names a function's code adds, read from its source (no import, no AWS): every
``add_metric(name=...)`` in the modules its handler imports, within its CodeUri and the shared layer.

A name is found when it is written out: a literal; one of the literals of an ``if``/``else``, a dict
literal's values (with ``.get``'s default), or a loop over a tuple of literals; a parameter, through every call
of its function in the module; a variable, through its assignment; a function's result, through its
``return`` statements. A name made any other way (an f-string, a value read at run time) is reported as
unresolved: metric names stay greppable, and this reading cannot miss one silently.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)  # local name -> (module, name)


@dataclass
class Emitted:
    names: set[str] = field(default_factory=set)
    unresolved: list[tuple[str, int, str]] = field(default_factory=list)  # (module, line, the call)


def _find(module: str, roots: list[Path]) -> Path | None:
    parts = module.split(".")
    for root in roots:
        for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate
    return None


def modules_of(handler_module: str, roots: list[Path]) -> dict[str, Module]:
    """The handler's module and every module it imports (at any depth, lazily or not) found under ``roots``."""
    found: dict[str, Module] = {}
    waiting = [handler_module]
    while waiting:
        name = waiting.pop()
        path = _find(name, roots)
        if name in found or path is None:
            continue
        module = Module(name, path, ast.parse(path.read_text(), str(path)))
        found[name] = module
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                waiting.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                waiting.append(node.module)
                for alias in node.names:
                    waiting.append(f"{node.module}.{alias.name}")  # a submodule, if it is one
                    module.imported[alias.asname or alias.name] = (node.module, alias.name)
    return found


class _Resolver:
    def __init__(self, modules: dict[str, Module]) -> None:
        self.modules = modules
        self.parents: dict[ast.AST, ast.AST] = {}
        for module in modules.values():
            for node in ast.walk(module.tree):
                for child in ast.iter_child_nodes(node):
                    self.parents[child] = node

    def _function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef):
                return node
        return None

    def _def(self, module: Module, name: str) -> tuple[Module, ast.FunctionDef] | None:
        for node in module.tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return module, node
        if name in module.imported:
            source, original = module.imported[name]
            if source in self.modules:
                return self._def(self.modules[source], original)
        return None

    def names(self, expr: ast.expr, module: Module, seen: frozenset[int] = frozenset()) -> set[str] | None:
        """The names ``expr`` can take, or ``None`` when they cannot be read from the source."""
        if id(expr) in seen:
            return set()
        seen = seen | {id(expr)}
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            return self._all([expr.body, expr.orelse], module, seen)
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Dict):
            return self._all(list(expr.value.values), module, seen)
        if isinstance(expr, ast.Call):
            call = expr.func
            if isinstance(call, ast.Attribute) and call.attr == "get" and isinstance(call.value, ast.Dict):
                return self._all([*call.value.values, *expr.args[1:2]], module, seen)
            target = self._def(module, call.id) if isinstance(call, ast.Name) else None
            if target:
                owner, function = target
                returns = [n.value for n in ast.walk(function) if isinstance(n, ast.Return) and n.value]
                return self._all(returns, owner, seen) if returns else None
            return None
        if isinstance(expr, ast.Name):
            return self._variable(expr, module, seen)
        return None

    def _all(self, exprs: list[ast.expr], module: Module, seen: frozenset[int]) -> set[str] | None:
        found: set[str] = set()
        for expr in exprs:
            names = self.names(expr, module, seen)
            if names is None:
                return None
            found |= names
        return found

    def _variable(self, name: ast.Name, module: Module, seen: frozenset[int]) -> set[str] | None:
        function = self._function_of(name)
        if function is None:
            return None
        parameters = [a.arg for a in function.args.args]
        if name.id in parameters:  # every call of the function in its module
            position = parameters.index(name.id)
            values = []
            for call in ast.walk(module.tree):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == function.name:
                    given = [k.value for k in call.keywords if k.arg == name.id]
                    values.extend(given or call.args[position:position + 1])
            return self._all(values, module, seen) if values else None
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name.id for t in node.targets):
                return self.names(node.value, module, seen)
            if isinstance(node, ast.For) and isinstance(node.iter, ast.Tuple | ast.List):
                if isinstance(node.target, ast.Name) and node.target.id == name.id:
                    return self._all(list(node.iter.elts), module, seen)
                if isinstance(node.target, ast.Tuple):
                    slots = [t.id if isinstance(t, ast.Name) else None for t in node.target.elts]
                    if name.id in slots:
                        at = slots.index(name.id)
                        rows = [e for e in node.iter.elts if isinstance(e, ast.Tuple | ast.List)]
                        if len(rows) != len(node.iter.elts):
                            return None
                        return self._all([row.elts[at] for row in rows], module, seen)
        return None


def emitted(modules: dict[str, Module]) -> Emitted:
    """Every metric name the modules add, and each ``add_metric`` whose name cannot be read."""
    resolver = _Resolver(modules)
    result = Emitted()
    for module in modules.values():
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add_metric"):
                continue
            given = [k.value for k in node.keywords if k.arg == "name"] or node.args[:1]
            names = resolver.names(given[0], module) if given else None
            if names is None:
                result.unresolved.append((module.name, node.lineno, ast.unparse(node)))
            else:
                result.names |= names
    return result
