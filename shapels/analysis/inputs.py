"""Where a forward()'s input shapes come from, when no driver in the file calls the model.

In order: explicit configuration (CLI `--input`, `[tool.shapels]`), a `# shapels: input x=(...)`
comment on forward, jaxtyping-style annotations (`Float[Tensor, "B 3 64 64"]`), and otherwise a
tensor of unknown shape, whose dims the first layer it meets names.
"""

from __future__ import annotations

import ast
import re
from typing import Optional

import libcst as cst
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

COMMENT = re.compile(r"#\s*shapels:\s*input\s+(.+)$")


def parse_dims(spec) -> Optional[Shape]:
    """(1, 3, 64, 64), [B, 3, H, W], "B 3 64 64", "*batch 3 H W" -> Shape; None if unreadable."""
    if isinstance(spec, (list, tuple)):
        tokens = [str(t) for t in spec]
    elif isinstance(spec, str):
        text = spec.strip().strip("()[]")
        tokens = [t for t in re.split(r"[\s,]+", text) if t]
    else:
        return None
    ranked = True
    dims = []
    for i, token in enumerate(tokens):
        if token in ("...", "*") or token.startswith("*"):
            if i != 0:
                return None
            ranked = False
            continue
        if re.fullmatch(r"-?\d+", token):
            value = int(token)
            if value < 0:
                return None
            dims.append(int(value))
        elif re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", token):
            dims.append(D.fresh("?") if token == "_" else D.symbol(token))
        else:
            return None
    return Shape(tuple(dims), ranked)


def parse_comment_spec(text: str) -> dict:
    """`x=(1, 3, 64, 64), mask=(1, 64)` -> {"x": Shape, "mask": Shape}."""
    out: dict = {}
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError:
        return out
    if not isinstance(call, ast.Call):
        return out
    for kw in call.keywords:
        if kw.arg is None:
            continue
        try:
            spec = ast.unparse(kw.value)
        except Exception:  # noqa: BLE001
            continue
        shape = parse_dims(spec)
        if shape is not None:
            out[kw.arg] = shape
    return out


def comment_inputs(forward: cst.FunctionDef) -> dict:
    """Inputs from a `# shapels: input ...` comment above `def forward` or on its line."""
    comments = [line.comment.value for line in forward.leading_lines if line.comment is not None]
    body = forward.body
    if isinstance(body, cst.IndentedBlock) and body.header.comment is not None:
        comments.append(body.header.comment.value)
    if isinstance(body, cst.SimpleStatementSuite) and body.trailing_whitespace.comment is not None:
        comments.append(body.trailing_whitespace.comment.value)  # `def forward(self, x): return x  # shapels: ...`
    if isinstance(body, cst.IndentedBlock) and body.body:
        first = body.body[0]
        comments.extend(line.comment.value for line in first.leading_lines if line.comment is not None)
    out: dict = {}
    for comment in comments:
        match = COMMENT.search(comment)
        if match:
            out.update(parse_comment_spec(match.group(1)))
    return out


def annotation_inputs(forward: cst.FunctionDef) -> dict:
    """Inputs from jaxtyping-style annotations: `x: Float[Tensor, "B 3 64 64"]`."""
    out: dict = {}
    for param in list(forward.params.params) + list(forward.params.kwonly_params):
        ann = param.annotation.annotation if param.annotation is not None else None
        if isinstance(ann, cst.Subscript) and len(ann.slice) == 2:
            spec = ann.slice[1].slice
            if isinstance(spec, cst.Index) and isinstance(spec.value, cst.SimpleString):
                try:
                    text = spec.value.evaluated_value
                except Exception:  # noqa: BLE001
                    continue
                shape = parse_dims(text)
                if shape is not None:
                    out[param.name.value] = shape
    return out


def configured_inputs(class_name: str, configured: dict) -> dict:
    """Inputs given by the CLI or pyproject: {"Net": {"x": "(1,3,64,64)"}} for this class."""
    out: dict = {}
    for param, spec in (configured.get(class_name) or {}).items():
        shape = parse_dims(spec)
        if shape is not None:
            out[param] = shape
    return out


def parse_cli_input(text: str) -> Optional[tuple]:
    """'Net:x=(1,3,64,64)' -> ("Net", "x", "(1,3,64,64)")."""
    match = re.fullmatch(r"\s*([A-Za-z_][\w]*)\s*:\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*", text)
    if not match or parse_dims(match.group(3)) is None:
        return None
    return match.group(1), match.group(2), match.group(3)
