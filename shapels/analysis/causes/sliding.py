"""What a window layer's siblings write: the file's other constructor calls of the same layer class (every
`nn.Conv1d(...)` beside the one at fault, every `layers.AveragePooling2D(...)`), bound to its registry
signature. A conv of kernel 5 with padding 1 breaks the convention that a stride-1 conv keeps the size;
whether the kernel or the padding was the slip, its siblings tell: the pair they write most. Shared by
the torch and the Keras geometry causes (geometry.py, keras.py)."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from shapels import rules
from shapels.analysis.calls import argument_nodes


def siblings(layer, source) -> list:
    """(call, {parameter: the expression written}) for each other call of the layer's class in the file (same
    callee name, `nn.Conv2d` or `Conv2d`), bound as the layer's own constructor call is."""
    own = layer.loc.node if getattr(layer, "loc", None) is not None else None
    return [(call, written) for call, written in calls_of(getattr(layer, "kind", ""), source) if call is not own]


def calls_of(qualname: str, source) -> list:
    """(call, {parameter: the expression written}) for each call in the file of the class `qualname` names."""
    rule = rules.lookup(qualname)
    if rule is None or rule.init_signature is None or source is None:
        return []
    positional = [p.name for p in rule.init_signature.params
                  if not (p.keyword_only or p.var_positional or p.var_keyword)]
    return [(call, argument_nodes(positional, call)) for call in source.calls_named(qualname.rsplit(".", 1)[-1])]


def defaults(layer) -> dict:
    """The layer class's parameter defaults (`padding` 0 for nn.Conv2d), as the registry's signature has them."""
    rule = rules.lookup(getattr(layer, "kind", ""))
    if rule is None or rule.init_signature is None:
        return {}
    return {p.name: p.default for p in rule.init_signature.params if not (p.var_positional or p.var_keyword)}


def literal_value(node):
    """What a literal says (`3`, `(3, 3)` with equal sides: 3; `"SAME"`: "same"), else None: the value a
    sibling states itself."""
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.SimpleString):
        return str(node.evaluated_value).lower()
    if isinstance(node, (cst.Tuple, cst.List)) and node.elements:
        values = {literal_value(e.value) for e in node.elements}
        return values.pop() if len(values) == 1 and None not in values else None
    return None


def _plain(default):
    """A signature default as literal_value reads the written one (`(2, 2)`: 2)."""
    if isinstance(default, (tuple, list)) and default and len(set(default)) == 1:
        default = default[0]
    if isinstance(default, str):
        return default.lower()
    return default if isinstance(default, int) and not isinstance(default, bool) else None


def is_literal(node) -> bool:
    """Written without a name (`2`, `(2, 2)`, `"same"`): text that means the same in any scope."""
    if isinstance(node, (cst.Integer, cst.SimpleString)):
        return True
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(is_literal(e.value) for e in node.elements)
    return isinstance(node, cst.UnaryOperation) and is_literal(node.expression)


def values(layer, params: tuple, source) -> list:
    """(value of each of `params`) for each sibling: the literal written, the class's default where it is
    not written, None where it is written otherwise (a name)."""
    found = defaults(layer)
    return [tuple(literal_value(written[param]) if param in written else _plain(found.get(param)) for param in params)
            for _, written in siblings(layer, source)]


def texts(layer, param: str, source, skip: frozenset = frozenset()) -> list:
    """The literal text each sibling writes for `param` (`(1, 1)`), one a call; none where it is not written
    or written with a name (a name means something else in another function), nor at the calls in `skip`
    (ids: those counted otherwise)."""
    return [source.code(written[param]) for call, written in siblings(layer, source)
            if id(call) not in skip and param in written and is_literal(written[param])]


def odd_literals(source, qualname: str, params: tuple) -> Iterator[tuple]:
    """(call, param, the expression, the text a strict majority of the class's other calls write) for each
    call of the class `qualname` whose literal `param` differs from it (at least two others agreeing): the
    file's one `MaxPooling2D(4, strides=2)` among pools of 3, wherever it is."""
    calls = calls_of(qualname, source)
    for param in params:
        written = [(call, nodes[param]) for call, nodes in calls if param in nodes and is_literal(nodes[param])]
        all_texts = [source.code(node) for _, node in written]
        for (call, node), text in zip(written, all_texts):
            others = list(all_texts)
            others.remove(text)
            usual = max(set(others), key=others.count) if others else None
            if usual is not None and usual != text and others.count(usual) >= 2 and 2 * others.count(usual) > len(others):
                yield call, param, node, usual
