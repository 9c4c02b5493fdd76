"""One suppression syntax (shapels/analysis/suppression.py), read alike by the engine, the CLI's
missing-input note and the editor's "Ignore on this line" action:

    # shapels: ignore          every finding on the line
    # shapels: ignore[a, b]    findings of code a or b
    # shapels: ignore[]        nothing (an empty list names no code)
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from lsprotocol import types
from pygls.workspace import Workspace

from shapels.analysis.engine import analyze
from shapels.analysis.suppression import silenced, suppression_in
from shapels.cli_findings import missing_input_notes
from shapels.lsp.code_actions import _ignore_action
from shapels.lsp.state import ServerState

PROGRAM = """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 10){comment}

    def forward(self, x):
        return self.fc(x)

model = Net()
model(torch.randn(1, 50))
"""

CODE = "linear-in-features"


def codes_left(comment: str) -> list:
    return [f.code for f in analyze(PROGRAM.format(comment=comment), "m.py").findings if f.severity == "error"]


def test_the_program_has_the_error_without_a_comment():
    assert codes_left("") == [CODE]


@pytest.mark.parametrize("comment, silenced_here", [
    ("  # shapels: ignore", True),
    ("  # shapels: ignore  because the input is padded", True),
    (f"  # shapels: ignore[{CODE}]", True),
    (f"  # shapels: ignore[view-size, {CODE}]", True),
    (f"  #shapels:ignore[ {CODE} ]", True),
    ("  # shapels: ignore[view-size]", False),
    ("  # shapels: ignore[]", False),
    ("  # shapels: ignore[ ]", False),
])
def test_the_engine_reads_the_comment(comment, silenced_here):
    assert codes_left(comment) == ([] if silenced_here else [CODE])
    assert silenced(comment, CODE) is silenced_here


def test_the_parsed_comment():
    assert suppression_in("x = 1  # shapels: ignore").codes is None
    assert suppression_in("x = 1  # shapels: ignore[a, b]").codes == ("a", "b")
    assert suppression_in("x = 1  # shapels: ignore[]").codes == ()
    assert suppression_in("x = 1  # shapels: ignored") is None
    assert suppression_in("x = 1  # nothing") is None


NO_INPUT = """import torch.nn as nn

class Net(nn.Module):{comment}
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
"""


@pytest.mark.parametrize("comment, noted", [
    ("", True),
    ("  # shapels: ignore", False),
    ("  # shapels: ignore[missing-input]", False),
    ("  # shapels: ignore[view-size, missing-input]", False),
    ("  # shapels: ignore[view-size]", True),
    ("  # shapels: ignore[]", True),
])
def test_the_missing_input_note_reads_the_same_comment(comment, noted):
    result = analyze(NO_INPUT.format(comment=comment), "m.py")
    assert bool(missing_input_notes(result)) is noted


def ignore_edit(line: str, code: str = CODE):
    """The "Ignore on this line" action's edit for a diagnostic of `code` on this line, or None."""
    uri = "file:///tmp/m.py"
    workspace = Workspace(None)
    workspace.put_text_document(types.TextDocumentItem(uri=uri, language_id="python", version=3, text=line + "\n"))
    server = SimpleNamespace(state=ServerState(), workspace=workspace, client_capabilities=types.ClientCapabilities())
    diagnostic = types.Diagnostic(range=types.Range(start=types.Position(line=0, character=0),
                                                    end=types.Position(line=0, character=1)),
                                  message="m", code=code, source="shapels")
    action = _ignore_action(server, uri, diagnostic)
    if action is None:
        return None
    [edit] = action.edit.changes[uri]
    return edit


def applied(line: str, edit) -> str:
    return line[: edit.range.start.character] + edit.new_text + line[edit.range.end.character:]


@pytest.mark.parametrize("line, after", [
    ("y = f(x)", f"y = f(x)  # shapels: ignore[{CODE}]"),
    ("y = f(x)  # shapels: ignore[view-size]", f"y = f(x)  # shapels: ignore[view-size, {CODE}]"),
    ("y = f(x)  # shapels: ignore[]", f"y = f(x)  # shapels: ignore[{CODE}]"),
])
def test_the_action_adds_the_code_where_the_comment_does_not_silence_it(line, after):
    edit = ignore_edit(line)
    assert applied(line, edit) == after
    assert silenced(after, CODE) and not silenced(line, CODE)


@pytest.mark.parametrize("line", ["y = f(x)  # shapels: ignore", f"y = f(x)  # shapels: ignore[a, {CODE}]"])
def test_no_action_where_the_comment_already_silences_the_code(line):
    assert ignore_edit(line) is None
