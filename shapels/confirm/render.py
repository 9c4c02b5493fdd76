"""Text output of `shapels confirm`: the device, the error, the runtime layers, the verdicts."""

from __future__ import annotations

import os
import re
from typing import Callable, Optional

from shapels.confirm.compare import show
from shapels.confirm.report import AGREED, ConfirmReport

MARK = {"agreed": "ok  ", "static-missed": "MISS", "static-wrong": "WRONG", "runtime-only": "new "}


_LINE = re.compile(r"\bline (\d+)\b")


def text(report: ConfirmReport, where: Optional[Callable[[int], tuple]] = None) -> str:
    """The report as text. `where(line)` -> (cell, line in it) names a notebook's lines as
    `cell 3, line 2` (`3:2` in the table), the verdicts' and notes' words included."""
    def at(line) -> str:
        if where is None or not isinstance(line, int):
            return f"line {line}"
        cell, row = where(line)
        return f"cell {cell}, line {row}"

    def short(line) -> str:
        if where is None or not isinstance(line, int):
            return str(line)
        cell, row = where(line)
        return f"{cell}:{row}"

    def words(message: str) -> str:
        return message if where is None else _LINE.sub(lambda m: at(int(m.group(1))), message)

    name = os.path.relpath(report.path)
    if name.startswith(".."):
        name = report.path
    out = []
    torch = f", torch {report.torch_version}" if report.torch_version else ""
    if report.keras_version:
        torch += f", keras {report.keras_version} on torch"
    head = f"{name}: ran on {report.device or '?'} in {report.duration * 1000:.0f} ms{torch}"
    if report.error is not None and report.error.kind not in ("exception", "exit"):
        head = f"{name}: not run to the end on {report.device or '?'}{torch}"
    out.append(head)
    e = report.error
    if e is None:
        model = f"{report.model}" if report.model else "the model"
        if report.output_shape is not None:
            given = f" {show(report.model_input)} →" if report.model_input else ""
            out.append(f"{model}:{given} {show(report.output_shape)}")
        else:
            out.append("no model (nn.Module or Keras layer) was called on data at the top level"
                       + ("" if report.layers else "; nothing to compare"))
    else:
        place = f"{at(e.line)}: " if e.line else ""
        out.append(f"error: {place}{e.show()}")
        if e.constructor_line:
            out.append(f"  raised in {e.layer or 'a layer'} ({e.layer_type}), built at {at(e.constructor_line)}")
        if e.raw_message and e.raw_message != e.message and report.device == "meta":
            out.append(f"  (torch on meta said: {e.raw_message})")
    if report.layers:
        rows = [("line" if where is None else "cell:line", "layer", "type", "input", "output")]
        for l in report.layers:
            out_text = "raised" if l.status == "raised" else show(l.output)
            calls = f" ×{l.calls}" if l.calls > 1 else ""
            rows.append((short(l.line), (l.name or "-") + calls, l.type.rsplit(".", 1)[-1], show(l.input), out_text))
            for number, call in enumerate(l.every[1:], 2):  # the later calls of a layer called again
                called = "raised" if call.get("status") == "raised" else show(call.get("output"))
                rows.append((short(l.line), f"  call {number} ({at(call.get('row') or '?')})", "", show(call.get("input")),
                             called))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        out.append("")
        for i, row in enumerate(rows):
            out.append("  " + "  ".join(c.ljust(widths[j]) for j, c in enumerate(row)).rstrip())
            if i == 0:
                out.append("  " + "  ".join("-" * w for w in widths))
    if report.verdicts:
        agreed = sum(1 for v in report.verdicts if v.verdict == AGREED)
        out.append("")
        out.append(f"static vs run: {agreed} agreed, {len(report.verdicts) - agreed} other")
        for v in report.verdicts:
            out.append(f"  {MARK.get(v.verdict, v.verdict)}  {at(v.line)}: {v.verdict}: {words(v.message)}")
    for note in report.notes:
        out.append(f"note: {words(note)}")
    if report.stdout.strip():
        lines = report.stdout.rstrip("\n").splitlines()
        out.append("")
        out.append(f"script output ({report.stdout_bytes} bytes{', truncated' if report.stdout_truncated else ''}):")
        shown = lines[:20]
        out.extend("  | " + line[:200] for line in shown)
        if len(lines) > len(shown):
            out.append(f"  | … {len(lines) - len(shown)} more lines")
    return "\n".join(out)
