"""The light position pass gives exactly libcst's PositionProvider ranges."""

from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from shapels.analysis.positions import node_ranges
from conftest import EXAMPLES

SAMPLES = [
    "x = f(\n    1,  # é 🙂\n    2)\n",
    "class A:\n\tdef f(self):\r\n\t\treturn g(\r\n\t\t\t1)\r\n",
    '@dec\ndef f(a, *, b=(1,\n  2)):\n    s = """x\n  y"""; t = s[1:2]\n    return [i for i in a if i]\n',
]


def _provider(module):
    ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {n: (r.start.line, r.start.column, r.end.line, r.end.column) for n, r in ranges.items()}


def test_same_ranges_as_libcst_position_provider():
    texts = SAMPLES + [p.read_text() for p in sorted((EXAMPLES / "torch").glob("*.py"))]
    texts.append(Path(cst.__file__).with_name("_nodes").joinpath("expression.py").read_text())
    for text in texts:
        module = cst.parse_module(text)
        mine, theirs = node_ranges(module), _provider(module)
        theirs.pop(module)  # the module root's end differs by the popped trailing newline; unused
        assert {n: mine.get(n) for n in theirs} == theirs
