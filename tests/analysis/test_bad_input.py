"""Bad input gets a clear message or silence: never a crash, a hang, or a wrong position."""

from __future__ import annotations

import textwrap

import pytest

from shapels.analysis.engine import Options, analyze
from shapels.symbolic import dims as D

from conftest import EXAMPLES

SEED = (EXAMPLES / "torch/seed004_ex1.py").read_text()


@pytest.mark.parametrize("text", [
    "", "\n\n", "class", "def forward(self, x", "import torch.nn as nn\nclass N(nn.Module):\n    def forward(self, x):\n        return self.",
    SEED[: len(SEED) // 2], SEED.replace("self.fc(x)", "self.fc(x"), "x = 1\x00\n", "\ufeffimport torch\n",
    "while True:\n    pass\n", "def f(x):\n    return f(x)\nf(1)\n",
    "import torch.nn as nn\nclass N(nn.Module):\n    def forward(self, x):\n        return self.forward(x)\nN()(1)\n",
    "import weird\nclass N(weird.Module):\n    pass\nN()(weird.x()).y[0]\n",
])
def test_never_crashes(text):
    result = analyze(text, "bad.py", Options(budget_seconds=5))
    assert result.syntax_error is not None or all(f.severity != "error" for f in result.findings)


def test_syntax_errors_say_where():
    result = analyze("import torch\nx = (1,\n", "bad.py")
    assert result.syntax_error is not None and result.syntax_error.line >= 2


@pytest.mark.parametrize("text,reason", [
    ("x = " + "+".join(["1"] * 5000) + "\n", "nests expressions"),
    ("import torch.nn as nn\nx = nn.Sequential(" + ", ".join(["nn.Linear(8, 8)"] * 3000) + ")\n", "a line of"),
])
def test_pathological_files_are_declined_with_a_note(text, reason):
    result = analyze(text, "big.py")
    [note] = result.findings
    assert note.code == "analysis-budget" and note.severity == "information" and reason in note.message
    assert result.partial


def test_screen_depth_counts_every_level_up_to_the_limit():
    import ast

    from shapels.analysis import ast_depth, limits

    def depth_by_children(tree):  # the definition: one level per ast.iter_child_nodes step
        return max([0] + [1 + depth_by_children(child) for child in ast.iter_child_nodes(tree)])

    # Module > Assign > UnaryOp * n > Name > Load: a chain of exactly n + 3 levels.
    for n in (limits.MAX_DEPTH - 4, limits.MAX_DEPTH - 3, limits.MAX_DEPTH - 2):
        tree = ast.parse("y = " + "-" * n + "x\n")
        assert ast_depth.max_depth(tree, limits.MAX_DEPTH) == depth_by_children(tree) == n + 3
        declined = limits.screen("y = " + "-" * n + "x\n").reason is not None
        assert declined == (n + 3 > limits.MAX_DEPTH)
    for text in (SEED, "def f():\n    if a:\n        for b in c:\n            return [d[e] for e in f]\n"):
        tree = ast.parse(text)
        assert ast_depth.max_depth(tree, limits.MAX_DEPTH) == depth_by_children(tree)


# Chains that nest one level per few characters, on one line or over many, in the places where the
# walk trusts a node's span (expressions, statements) and where it must not (decorators above a def's
# span, positions inside an f-string, elif chains, nested blocks).
DEEP_TEXTS = [
    lambda n: "y = " + "-" * n + "x\n",
    lambda n: "y = " + "+".join(["1"] * n) + "\n",
    lambda n: "y = f" + "()" * n + "\n",
    lambda n: "y = " + "(lambda: " * n + "0" + ")" * n + "\n",
    lambda n: "@d" + ".a" * n + "\ndef f(): pass\n",
    lambda n: "if a: pass\n" + "elif b: pass\n" * n,
    lambda n: "y = f'{x:{w" + ".a" * n + "}}'\n",
    lambda n: "y = f\'\'\'{\nx" + ".a" * n + "}\'\'\'\n",
    lambda n: "match x:\n case " + "[" * n + "1" + "]" * n + ": pass\n",
    lambda n: "def f():\n" + "".join("  " * (i + 1) + "if a:\n" for i in range(n)) + "  " * (n + 1) + "pass\n",
]


@pytest.mark.parametrize("make", DEEP_TEXTS)
def test_screen_skips_only_nodes_that_cannot_pass_the_limit(make):
    """depth_past walks only nodes that could reach past the limit: its verdict, and its depth past the
    limit, are max_depth's, at limits the chains cross."""
    import ast

    from shapels.analysis import ast_depth

    for n in (5, 30, 60, 90):
        tree = ast.parse(make(n))
        for limit in range(10, 100, 3):
            exact, walked = ast_depth.max_depth(tree, limit), ast_depth.depth_past(tree, limit)
            assert (walked > limit) == (exact > limit)
            assert walked == exact if exact > limit else walked <= exact


def test_time_budget_gives_partial_results_and_a_note():
    layers = "".join("            nn.Linear(8, 8),\n" for _ in range(3000))
    text = ("import torch, torch.nn as nn\nclass N(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.s = nn.Sequential(\n{layers}        )\n    def forward(self, x):\n        return self.s(x)\n"
            "N()(torch.randn(2, 8))\n")
    result = analyze(text, "slow.py", Options(budget_seconds=0.05))
    assert result.partial
    assert [f.code for f in result.findings] == ["analysis-budget"]


def test_crlf_tabs_and_non_ascii_positions():
    text = ("import torch\r\nimport torch.nn as nn\r\nclass N(nn.Module):\r\n\tdef __init__(self):\r\n"
            "\t\tsuper().__init__()\r\n\t\tself.é = 1; self.fc = nn.Linear(3, 4)  # ü\r\n"
            "\tdef forward(self, x):\r\n\t\treturn self.fc(x)\r\nN()(torch.randn(2, 5))\r\n")
    [finding] = analyze(text, "crlf.py").findings
    line = text.split("\r\n")[finding.span.start_line - 1]
    assert line[finding.span.start_col:finding.span.end_col] == "3"


def test_symbolic_blowup_stays_readable():
    text = textwrap.dedent("""
        import torch.nn as nn
        class Deep(nn.Module):
            def __init__(self):
                super().__init__()
                self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3, stride=2, padding=1) for _ in range(20)])
            # shapels: input x=(B, 8, H, W)
            def forward(self, x):
                for c in self.convs:
                    x = c(x)
                return x
    """)
    [m] = analyze(text, "deep.py").modules
    assert m.output.shape.show() == f"(B, 8, (H - 1)//{2**20} + 1, (W - 1)//{2**20} + 1)"


def test_floor_of_floor_collapses_only_when_exact():
    n = D.symbol("n")
    assert D.show(D.floordiv(D.floordiv(n, 3), 4)) == "n//12"
    assert D.floordiv(D.floordiv(17, 3), 4) == 17 // 12


def test_a_statement_too_long_for_the_budget_is_skipped_and_the_rest_analysed():
    layers = "".join("            nn.Linear(8, 8),\n" for _ in range(4000))
    text = ("import torch, torch.nn as nn\nclass Big(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.s = nn.Sequential(\n{layers}        )\n"
            "class Small(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3, 4)\n"
            "    def forward(self, x):\n        return self.fc(x)\nSmall()(torch.randn(2, 5))\n")
    result = analyze(text, "mixed.py", Options(budget_seconds=1))
    notes = [f for f in result.findings if f.code == "analysis-budget"]
    assert len(notes) == 1 and "class Big (lines 2-" in notes[0].message
    [error] = [f for f in result.findings if f.severity == "error"]
    assert error.code == "linear-in-features" and text.splitlines()[error.span.start_line - 1].strip() == "self.fc = nn.Linear(3, 4)"
