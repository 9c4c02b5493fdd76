"""Knowledge about a layer lives in its registry entry (shapels/rules/): no analysis module names a
registered layer or container, by qualified name (`"torch.nn.Linear"`) or by class name (`"Linear"`),
so that a new layer, or a new framework's, registers in one file.

Geometry is the registry's too: which layers slide a window over a map, and which of their arguments
are its kernel, stride, padding and dilation (registry.Window), so no analysis module, causes/ included,
names a window layer or lists window arguments in a table. The rest of analysis/causes/ is left out of
the first test: its heuristics still name some layers (which one is a Linear, a loss), and moving that
into the entries is open work."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst

from shapels.rules.registry import CONTAINERS, REGISTRY, Window, window_layers

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


def _window_names() -> set:
    """The registered window layers' qualified names and class names (Conv2d, MaxPooling2D, ...)."""
    qualnames = {qualname for qualname, _ in window_layers()}
    return qualnames | {q.rsplit(".", 1)[-1] for q in qualnames}


def _window_arguments() -> set:
    """What the window layers call their kernel, stride, padding, dilation and rounding arguments."""
    return {name for _, window in window_layers()
            for name in (window.kernel, window.stride, window.padding, window.dilation, window.ceil_mode) if name}


def _geometry_tables(tree: ast.AST, layers: set, arguments: set) -> list:
    """(line, what) for each string naming a window layer, and each tuple, list, set or dict literal that
    lists two or more window arguments (`("kernel_size", "stride", "padding")`): a geometry table."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in layers:
            found.append((node.lineno, repr(node.value)))
        elements = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None) \
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else None
        if elements is not None:
            listed = {e.value for e in elements if isinstance(e, ast.Constant) and e.value in arguments}
            if len(listed) >= 2:
                found.append((node.lineno, f"a table of window arguments {sorted(listed)}"))
    return found


def test_every_window_layer_declares_its_window():
    """A layer whose constructor takes a kernel or pool size declares its Window, naming arguments it has."""
    missing, wrong = [], []
    for qualname, rule in REGISTRY.items():
        params = {p.name for p in rule.init_signature.params} if rule.is_layer else set()
        if rule.window is None:
            if params & {"kernel_size", "pool_size"}:
                missing.append(qualname)
            continue
        window = rule.window
        named = [window.kernel, window.stride, window.padding, window.dilation, window.ceil_mode]
        wrong += [f"{qualname}: {name}" for name in named if name is not None and name not in params]
    assert not missing and not wrong, (missing, wrong)
    assert {"torch.nn.Conv2d", "torch.nn.MaxPool1d", "keras.layers.AveragePooling2D", "keras.layers.Conv2DTranspose"} \
        <= {qualname for qualname, _ in window_layers()}


def test_no_analysis_module_has_a_geometry_table():
    layers, arguments = _window_names(), _window_arguments()
    assert {"Conv2d", "MaxPooling2D", "torch.nn.AvgPool3d"} <= layers
    assert {"kernel_size", "stride", "strides", "padding", "pool_size", "dilation"} <= arguments
    found = [f"{path.relative_to(ANALYSIS)}:{line}: {what}" for path in sorted(ANALYSIS.rglob("*.py"))
             for line, what in _geometry_tables(ast.parse(path.read_text()), layers, arguments)]
    assert not found, "declare it in the layer's registry entry (registry.Window) instead:\n" + "\n".join(found)


def test_a_geometry_table_fails_the_check():
    """The check finds the tables causes/ had before the registry held them."""
    layers, arguments = _window_names(), _window_arguments()
    sliding = 'SLIDING = ("Conv1d", "Conv2d", "MaxPool2d")\n'
    roles = 'for p in ("kernel_size", "stride", "padding", "dilation"): pass\n'
    edits = '_GEOMETRY = {"kernel_size": (-2, 2), "stride": (-1, 1)}\n'
    keras = 'def f(layer): return layer.short_kind in {"Conv2D", "AvgPool2D"}\n'
    assert [what for _, what in _geometry_tables(ast.parse(sliding), layers, arguments)] == \
        ["'Conv1d'", "'Conv2d'", "'MaxPool2d'"]
    for text in (roles, edits, keras):
        assert _geometry_tables(ast.parse(text), layers, arguments), text
    # one argument read by its name is no table (a keras.ops call binding its own kernel_size)
    assert not _geometry_tables(ast.parse('bound = dict(zip(["inputs", "kernel_size"], args))\n'), layers, arguments)
    assert Window("pool").pool and not Window("conv").pool
