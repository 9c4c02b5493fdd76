"""Knowledge about a layer lives in its registry entry (shapels/rules/): no analysis module names a
registered layer or container, by qualified name (`"torch.nn.Linear"`) or by class name (`"Linear"`),
so that a new layer, or a new framework's, registers in one file.

analysis/causes/ is left out: its heuristics (which layers slide a window, which one is a Linear)
still name layers, and moving that into the entries is open work."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst

from shapels.rules.registry import CONTAINERS, REGISTRY

ANALYSIS = Path(__file__).resolve().parents[1] / "shapels" / "analysis"


def _layer_names() -> set:
    """Registered layers' and containers' qualified names and class names; a class name that is also
    a libcst node's (Keras's `Add` layer, libcst's `Add` operator) names the syntax there."""
    qualnames = {q for q, rule in REGISTRY.items() if rule.is_layer} | set(CONTAINERS)
    return qualnames | ({q.rsplit(".", 1)[-1] for q in qualnames} - set(dir(libcst)))


def test_no_analysis_module_names_a_layer():
    names = _layer_names()
    assert {"torch.nn.Linear", "Conv2d", "torch.nn.Sequential", "ModuleDict"} <= names
    found = []
    for path in sorted(ANALYSIS.rglob("*.py")):
        if "causes" in path.relative_to(ANALYSIS).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found.append(f"{path.relative_to(ANALYSIS)}:{node.lineno}: {node.value!r}")
    assert not found, "declare it in the layer's registry entry instead:\n" + "\n".join(found)
