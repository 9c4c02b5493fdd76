"""In-process unit tests of the server's parts that need no client: settings parsing, position
conversion, and the scheduler (stale results dropped, a failing analysis reported)."""

from __future__ import annotations

import asyncio
import threading

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from shapels.analysis.positions import Span
from shapels.config import build_options
from shapels.lsp import positions, settings
from shapels.lsp.scheduler import Scheduler


def test_settings_defaults_and_values():
    s, problems = settings.parse({"enable": False, "inlayHints": False, "debounceMs": 0, "severity": "hint",
                                  "inputs": {"Net.x": [1, 3, 64, 64]}, "budgetSeconds": 2})
    assert problems == []
    assert (s.enable, s.inlay_hints, s.debounce_ms, s.budget_seconds) == (False, False, 0, 2.0)
    assert s.severity_for("linear-in-features", "error") == "hint"
    assert s.inputs == {"Net": {"x": [1, 3, 64, 64]}}
    assert settings.parse(None) == (settings.Settings(), [])
    assert settings.section_of({"shapels": {"enable": False}}) == {"enable": False}


def test_settings_invalid_values_fall_back_to_defaults():
    s, problems = settings.parse({"enable": "yes", "debounceMs": -5, "severity": {"x": "loud"},
                                  "budgetSeconds": -1, "inputs": {"Net": {"x": "(1, ?)"}}})
    assert s == settings.Settings()
    assert len(problems) == 5
    assert settings.parse([1, 2])[0] == settings.Settings()


def test_options_project_overrides_editor():
    editor, _ = settings.parse({"inputs": {"Net": {"x": "(1, 3)", "y": "(2,)"}}, "budgetSeconds": 3})
    options, problems = build_options({"inputs": {"Net.x": [9, 9]}, "budget_seconds": 1}, editor.defaults())
    assert problems == []
    assert options.inputs == {"Net": {"x": [9, 9], "y": "(2,)"}}
    assert options.budget_seconds == 1.0
    assert editor.inputs == {"Net": {"x": "(1, 3)", "y": "(2,)"}}  # the editor's settings are not changed
    options, problems = build_options({"budget_seconds": -1}, editor.defaults())
    assert options.budget_seconds == 3.0
    assert problems == ["[tool.shapels] budget_seconds: expected a positive number; using the default"]


def test_positions_round_trip_utf16_and_utf8():
    line = 'a = {"é🙂": f(1024)}'
    col = line.index("1024")
    span = Span(1, col, 1, col + 4)
    utf16 = positions.to_range(PositionCodec(types.PositionEncodingKind.Utf16), [line], span)
    utf8 = positions.to_range(PositionCodec(types.PositionEncodingKind.Utf8), [line], span)
    assert utf16.start.character == col + 1  # 🙂 is a surrogate pair
    assert utf8.start.character == col + 1 + 3  # é: 2 bytes, 🙂: 4 bytes
    for codec, rng in ((PositionCodec(types.PositionEncodingKind.Utf16), utf16),
                       (PositionCodec(types.PositionEncodingKind.Utf8), utf8)):
        assert positions.from_position(codec, [line], rng.start) == (1, col)
    assert positions.split_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]
    assert positions.to_position(PositionCodec(), ["x"], 5, 0) == types.Position(line=4, character=0)


def test_scheduler_drops_stale_and_reports_failures():
    async def scenario():
        release = threading.Event()
        results, errors = [], []

        def work(uri, version, text):
            if text == "slow":
                release.wait(10)
            if text == "boom":
                raise ValueError("engine bug")
            return text

        scheduler = Scheduler(work, lambda u, v, r: results.append((v, r)), lambda u, v, e: errors.append((v, e)))
        first = scheduler.schedule("file:///a.py", 1, "slow")
        await asyncio.sleep(0)  # let the first job start (an event-loop turn, not a wait for time)
        scheduler.schedule("file:///a.py", 2, "queued-and-superseded")
        third = scheduler.schedule("file:///a.py", 3, "newest")
        release.set()
        await asyncio.gather(first, third, return_exceptions=True)
        assert results == [(3, "newest")], results  # versions 1 and 2 never published
        failing = scheduler.schedule("file:///a.py", 4, "boom")
        await failing
        assert [(v, str(e)) for v, e in errors] == [(4, "engine bug")]
        assert results == [(3, "newest")]  # the last good result stays
        scheduler.shutdown()

    asyncio.run(scenario())


def test_hover_appends_runtime_notes_from_the_shared_state():
    """The confirm feature fills `state.documents[uri].runtime`; hover shows it (no client needed)."""
    from types import SimpleNamespace

    from pygls.workspace import Workspace

    from shapels.analysis.engine import analyze
    from shapels.lsp.hover import hover_at
    from shapels.lsp.state import ServerState
    from tests.lsp.conftest import EXAMPLES

    text = (EXAMPLES / "torch" / "seed000_ex3.py").read_text()
    uri = "file:///tmp/seed000_ex3.py"
    workspace = Workspace(None)
    workspace.put_text_document(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
    server = SimpleNamespace(state=ServerState(), workspace=workspace,
                             client_capabilities=types.ClientCapabilities())
    doc = server.state.document(uri)
    doc.result = analyze(text, "seed000_ex3.py")
    doc.runtime[14] = "(1, 5120)"
    hover = hover_at(server, uri, types.Position(line=13, character=4))
    assert hover.contents.kind == types.MarkupKind.PlainText  # no contentFormat: plain text
    assert hover.contents.value.splitlines()[0] == "x: Tensor[1, 5120]"
    assert hover.contents.value.splitlines()[-1] == "runtime: (1, 5120)"
