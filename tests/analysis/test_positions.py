"""The light position pass gives exactly libcst's PositionProvider ranges."""

from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from shapels.analysis.positions import Positions, Span, node_ranges
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


# Sources whose statements the per-statement passes place (Positions with the text): decorators,
# comments and blank lines before statements and between decorators, `;`, every compound statement
# and clause, one-line suites, tabs, non-ASCII text before and in the last line of a block, a
# header comment, a footer of comments, form feeds and \r\n / \r line ends, no final newline.
PLACED = [
    "# header\n\n# more\nimport os; import sys\n\n\nx = 1  # c\n",
    "@dec\n# between\n@ other(1,\n   2)\n\n# after decorators\ndef f(a):\n    return a ;\n",
    "class A:\n    '''doc\n    é'''\n\n    class B:\n        # inner\n        def f(self):\n            pass\n\n\n"
    "    def forward(self, x):\n        y = x; z = y\n        return {'é': z,\n                'ü': 2}\n# footer\n",
    "def f():\n\tif a:\n\t\tb = 1\n\telif c:\n\t\td = 2\n\telse:\n\t\treturn \"é\"  # 🙂\n",
    "def f():\r\n    for i in x:\r\n        pass\r\n    else:\r\n        while y:\r\n            z = 1\r\n        else:\r\n"
    "            w = 2\r\n",
    "def f():\r    with a as b, c:\r        d = (1,\r             2)\r",
    "try:\n    a = 1\nexcept E as e:\n    b = 2\nexcept:\n    c = 3\nelse:\n    d = 4\nfinally:\n    e = 5\n",
    "try:\n    a = 1\nexcept* E:\n    b = 2\n",
    "try:\n    a\nfinally: b = 1\n",
    "async def f():\n    async for a in b:\n        async with c:\n            await d\n",
    "def f():\n    match x:\n        case 1:\n            return 2\n        case _:\n            pass\n",
    "if a: b = 1\nelif c: d = 2\nelse: e = 3\nclass C: pass\ndef g(): return 1\n",
    "x = 1 + \\\n    2\ns = '''a\n\x0b\x1cb\u2028'''\nclass D:\n    def f(self):\n        return '''\nz'''\n",
    "x = 1\n\x0c\ndef f():\n    return 2\n",
    "def f():\n    y = 1\n\n    # trailing comment\n\n",
    "class E:\n    def f(self):\n        if a:\n            return 1\n        else: return 2",
    "@a.b[0](c)\nclass F(G, metaclass=M):\n    x: int = 1\n",
]

# Sources the per-statement passes cannot place or that ast does not parse the same way (a form feed
# before a top-level statement, a decorator's expression on the line after its @, syntax newer than
# this Python): the whole pass gives every span, as before.
WHOLE_PASS = [
    "\x0cx = 1\n",
    "@(\n    dec)\ndef f():\n    pass\n",
    "def f[T](x: T) -> T:\n    return x\n",
]


def _statement_spans(text: str):
    """(the whole pass's ranges, Positions' ranges of every statement, Positions)."""
    module = cst.parse_module(text)
    whole = node_ranges(module)
    positions = Positions(module, text)
    statements = [n for n in whole if isinstance(n, cst.BaseStatement) and n is not module]
    # placed statements first: another node's span is the whole pass, and every span after it a look-up
    placed = [n for n in statements if positions._statement_range(n) is not None]
    spans = {n: positions.node_span(n) for n in placed + [n for n in statements if n not in placed]}
    return whole, {n: (s.start_line, s.start_col, s.end_line, s.end_col) for n, s in spans.items()}, positions


def test_statement_spans_are_the_whole_pass_spans():
    for text in PLACED:
        whole, spans, positions = _statement_spans(text)
        assert spans == {n: whole[n] for n in spans}, text
        assert all(whole[n] == r for n, r in positions._known.items()), text
        assert positions._text is not None, text  # placed, not given up on


def test_unplaceable_sources_take_the_whole_pass():
    for text in WHOLE_PASS:
        whole, spans, positions = _statement_spans(text)
        assert spans == {n: whole[n] for n in spans}, text
        assert positions._text is None, text  # given up on: the whole pass


def test_class_and_forward_spans_need_no_whole_pass():
    text = PLACED[2]
    module = cst.parse_module(text)
    positions = Positions(module, text)
    cls = module.body[0]
    forward = cls.body.body[-1]
    assert positions.node_span(cls) == Span(1, 0, 14, 23)
    assert positions.node_span(forward) == Span(11, 4, 14, 23)
    assert positions._table is None
    returned = forward.body.body[-1].body[0]  # in the last line, which the passes generated
    assert positions.node_span(returned) == Span(13, 8, 14, 23) and positions._table is None
    assert positions.node_span(forward.params) is not None and positions._table is not None  # not a statement


def test_without_the_text_the_whole_pass():
    module = cst.parse_module(PLACED[0])
    positions = Positions(module)
    assert positions.node_span(module.body[0]) == Span(4, 0, 4, 21) and positions._table is not None


def test_every_statement_is_recorded_and_another_files_has_no_span_without_the_whole_pass():
    for text in PLACED:
        module = cst.parse_module(text)
        positions = Positions(module, text)
        positions.node_span(module.body[0])
        statements = {n for n in node_ranges(module) if isinstance(n, cst.BaseStatement) and n is not module}
        assert statements == set(positions._places.places), text  # elifs included, unplaced
    other = cst.parse_module("class G:\n    def forward(self, x):\n        return x\n")
    assert positions.node_span(other.body[0].body.body[0]) is None and positions._table is None
