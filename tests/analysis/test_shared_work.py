"""Work done once rather than again, with the same results: an imported module's table built once and
copied for each analysis (scopes.make_scope(shared=True)), hasattr's look through the files read once per
question (python_builtins.has_attribute), and the names under a library name worked out once."""

from __future__ import annotations

import textwrap

import libcst as cst

from shapels.analysis import attributes, modtable, scopes
from shapels.analysis.engine import Options, analyze
from shapels.imports import FileLoader

BLOCKS = textwrap.dedent("""
    import torch.nn as nn

    class Base(nn.Module):
        pass

    class Block(Base):
        scale = 2

        def __init__(self, width: int):
            super().__init__()
            self.proj = nn.Linear(width, width)

        def forward(self, x):
            return self.proj(x)
""")


def test_a_shared_module_table_is_built_once_and_each_scope_gets_its_own_copy(monkeypatch):
    module = cst.parse_module(BLOCKS)
    built = []
    real = scopes.build_table
    monkeypatch.setattr(scopes, "build_table", lambda m: built.append(m) or real(m))
    first = scopes.make_scope("blocks", "blocks.py", module, shared=True)
    second = scopes.make_scope("blocks", "blocks.py", module, shared=True)
    assert built == [module]
    a, b = first.table.classes["Block"], second.table.classes["Block"]
    assert a is not b and a.scope is first and b.scope is second
    assert a.bases == [first.table.classes["Base"]] and a.bases[0] is first.table.classes["Base"]
    assert a.is_module and b.is_module and a.methods == b.methods and a.attributes == b.attributes
    a.base_names[0] = "changed"  # what the linker does to a star-imported base
    a.bases.append(first.table.classes["Block"])
    assert b.base_names == ["Base"] and b.bases == [second.table.classes["Base"]]
    assert scopes.make_scope("blocks", "blocks.py", module, shared=True).table.classes["Block"].base_names == ["Base"]


def test_a_copied_table_equals_a_built_one():
    module = cst.parse_module(BLOCKS + "\nfrom .layers import *\nfrom .ops import act as activation\ndef helper(): pass\n")
    built, copied = modtable.build_table(module), modtable.copy_table(modtable.build_table(module))
    assert copied == built
    assert copied.aliases is not built.aliases and copied.star_imports is not built.star_imports


def test_an_imported_class_is_checked_the_same_in_each_analysis(tmp_path):
    (tmp_path / "blocks.py").write_text(BLOCKS)
    main = textwrap.dedent("""
        import torch
        from blocks import Block

        y = Block(8)(torch.randn(2, 4))
    """)
    (tmp_path / "main.py").write_text(main)
    options = Options(loader=FileLoader(roots=[tmp_path]))
    runs = [analyze(main, str(tmp_path / "main.py"), options) for _ in range(2)]
    assert [f.code for f in runs[0].findings] == [f.code for f in runs[1].findings]
    assert any("Linear" in f.message or "8" in f.message for f in runs[0].findings)


def test_hasattr_asks_the_files_once_per_question_while_no_other_file_is_read(monkeypatch):
    from shapels.analysis import python_builtins

    asked = []
    real = python_builtins.may_be_written
    monkeypatch.setattr(python_builtins, "may_be_written", lambda *a: asked.append(a[0]) or real(*a))
    code = textwrap.dedent("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = hasattr(self, "missing")
                self.b = hasattr(self, "missing")
                self.c = hasattr(self, "other")

            def forward(self, x):
                return x
    """) + "net = Net()\n"
    result = analyze(code, "m.py")
    assert asked == ["missing", "other"]
    assert not result.partial


def test_a_name_under_a_library_name_is_worked_out_once():
    attributes._DEEPER.clear()
    assert attributes._deeper_name("torch.nn", "Conv2d") == ("torch.nn.Conv2d", None)
    assert attributes._DEEPER[("torch.nn", "Conv2d")] == ("torch.nn.Conv2d", None)
    deeper, inside = attributes._deeper_name("torchvision.ops", "misc")
    assert deeper == "torchvision.ops.misc" and inside == "torchvision.ops.misc"
