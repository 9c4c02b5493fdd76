"""`shapels check` in worker processes and from its results cache (shapels/parallel_check.py,
shapels/check_cache.py): the same output for any --jobs, a repeated run answered from the cache,
and a miss whenever the file or anything it imports changed. conftest gives each test its own
cache folder ($SHAPELS_CACHE_DIR)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT
from shapels import cli, parallel_check
from shapels.analysis import engine
from two_file_project import BLOCKS, MODEL


def project(tmp_path: Path) -> Path:
    """A folder with a model that imports a block from a sibling file, the seed examples (three with
    an error) and a file with a syntax error."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "blocks.py").write_text(BLOCKS)
    (folder / "model.py").write_text(MODEL)
    (folder / "broken.py").write_text("def f(:\n    pass\n")
    for example in sorted((EXAMPLES / "torch").glob("*.py")):
        (folder / example.name).write_bytes(example.read_bytes())
    return folder


def check(capsys, *args: str) -> tuple:
    status = cli.main(["check", *args])
    out, err = capsys.readouterr()
    return status, out, err


def count_analyses(monkeypatch) -> list:
    """The paths the engine is asked to analyse, in this process (a file with an error more than once:
    its fixes are tried by analysing it again)."""
    calls = []
    real = engine.analyze

    def counted(text, path="<string>", options=None):
        calls.append(path)
        return real(text, path, options)

    monkeypatch.setattr(engine, "analyze", counted)
    return calls


def test_the_output_is_the_same_for_any_number_of_jobs(tmp_path, capsys):
    folder = project(tmp_path)
    for fmt in ("text", "json", "sarif"):
        serial = check(capsys, "--no-cache", "--jobs", "1", "--format", fmt, str(folder))
        parallel = check(capsys, "--no-cache", "--jobs", "3", "--format", fmt, str(folder))
        assert parallel == serial
        assert serial[0] == 1
    assert parallel_check.last_stats.workers == 3
    text = check(capsys, "--no-cache", "-j", "2", str(folder))[1]
    assert "broken.py:1:" in text and "seed004_ex1.py:11:29: linear-in-features" in text
    assert "model.py" not in text  # the imported block's width fits the head


def test_a_second_run_is_answered_from_the_cache(tmp_path, capsys, monkeypatch):
    folder = project(tmp_path)
    fresh = check(capsys, "--no-cache", "--jobs", "1", "--format", "json", str(folder))
    first = check(capsys, "--jobs", "2", "--format", "json", str(folder))
    files = parallel_check.last_stats.files
    assert parallel_check.last_stats.analysed == files and first == fresh
    calls = count_analyses(monkeypatch)
    second = check(capsys, "--jobs", "1", "--format", "json", str(folder))
    assert calls == [] and parallel_check.last_stats.hits == files
    assert second == fresh
    # the cached findings carry everything the outputs show: text and SARIF from the cache too
    for fmt in ("text", "sarif"):
        cached = check(capsys, "--format", fmt, str(folder))
        assert cached == check(capsys, "--no-cache", "-j", "1", "--format", fmt, str(folder))
    assert set(calls) == {str(p) for p in cli.iter_python_files([str(folder)])}  # only the --no-cache runs


def test_a_changed_file_or_imported_file_is_analysed_again(tmp_path, capsys, monkeypatch):
    folder = project(tmp_path)
    check(capsys, "-j", "1", str(folder))
    calls = count_analyses(monkeypatch)
    (folder / "broken.py").write_text("def f():\n    pass\n")
    status, out, _ = check(capsys, "-j", "1", str(folder))
    assert set(calls) == {str(folder / "broken.py")} and "broken.py" not in out
    # the block now makes 48 features, and the head of the model that imports it wants 64
    calls.clear()
    (folder / "blocks.py").write_text(BLOCKS.replace("WIDTH = 64", "WIDTH = 48"))
    status, out, _ = check(capsys, "-j", "1", str(folder))
    assert set(calls) == {str(folder / "blocks.py"), str(folder / "model.py")}
    assert "model.py:" in out and "linear-in-features" in out
    assert (status, out) == check(capsys, "--no-cache", "-j", "1", str(folder))[:2]


def test_an_edit_two_imports_away_is_a_miss(tmp_path, capsys, monkeypatch):
    """model.py imports blocks.py, which imports widths.py: an edit to widths.py re-analyses all three
    (the entry keeps the loader's answers for the imports of imports too), and so does removing it."""
    folder = project(tmp_path)
    (folder / "widths.py").write_text("WIDTH = 64\n")
    (folder / "blocks.py").write_text(BLOCKS.replace("WIDTH = 64", "from widths import WIDTH"))
    fresh = check(capsys, "-j", "1", str(folder))
    assert fresh[0] == 1 and "model.py" not in fresh[1]
    calls = count_analyses(monkeypatch)
    (folder / "widths.py").write_text("WIDTH = 48\n")
    status, out, _ = check(capsys, "-j", "1", str(folder))
    assert set(calls) == {str(folder / name) for name in ("widths.py", "blocks.py", "model.py")}
    assert "model.py:" in out and "linear-in-features" in out
    assert (status, out) == check(capsys, "--no-cache", "-j", "1", str(folder))[:2]
    calls.clear()
    (folder / "widths.py").unlink()  # now unresolved: blocks.py and model.py are analysed again
    status, out, _ = check(capsys, "-j", "1", str(folder))
    assert set(calls) == {str(folder / "blocks.py"), str(folder / "model.py")}
    assert (status, out) == check(capsys, "--no-cache", "-j", "1", str(folder))[:2]


def test_a_new_file_that_shadows_an_import_is_a_miss(tmp_path, capsys, monkeypatch):
    folder = project(tmp_path)
    (folder / "pkg").mkdir()
    (folder / "pkg" / "model.py").write_text(MODEL)
    elsewhere = tmp_path / "lib"
    elsewhere.mkdir()
    (elsewhere / "blocks.py").write_text(BLOCKS)
    (folder / "blocks.py").unlink()
    monkeypatch.chdir(elsewhere)  # found through the working folder's root
    target = str(folder / "pkg" / "model.py")
    assert check(capsys, "-j", "1", target)[0] == 0
    calls = count_analyses(monkeypatch)
    (folder / "pkg" / "blocks.py").write_text(BLOCKS.replace("WIDTH = 64", "WIDTH = 48"))  # found first now
    status, out, _ = check(capsys, "-j", "1", target)
    assert set(calls) == {target} and status == 1 and "linear-in-features" in out


def test_a_corrupt_or_unreadable_entry_is_analysed_again(tmp_path, capsys):
    folder = project(tmp_path)
    fresh = check(capsys, "--no-cache", "-j", "1", str(folder))
    check(capsys, "-j", "1", str(folder))
    entries = sorted(Path(os.environ["SHAPELS_CACHE_DIR"]).rglob("*.pickle"))
    assert len(entries) == parallel_check.last_stats.files
    entries[0].write_bytes(b"")
    entries[1].write_bytes(b"not a pickle")
    entries[2].write_bytes(entries[3].read_bytes())  # a valid entry, of another key
    entries[4].write_bytes(entries[4].read_bytes()[:40])
    entries[5].unlink()
    assert check(capsys, "-j", "1", str(folder)) == fresh
    assert parallel_check.last_stats.analysed == 5
    assert check(capsys, "-j", "1", str(folder)) == fresh and parallel_check.last_stats.hits == len(entries)


def test_an_unwritable_cache_folder_is_no_cache(tmp_path, capsys, monkeypatch):
    folder = project(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SHAPELS_CACHE_DIR", str(blocker / "cache"))
    fresh = check(capsys, "--no-cache", "-j", "1", str(folder))
    assert check(capsys, "-j", "2", str(folder)) == fresh
    assert check(capsys, "-j", "1", str(folder)) == fresh and parallel_check.last_stats.hits == 0


def test_no_cache_writes_nothing(tmp_path, capsys):
    check(capsys, "--no-cache", str(project(tmp_path)))
    assert not list(Path(os.environ["SHAPELS_CACHE_DIR"]).rglob("*"))


def test_the_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    from shapels.check_cache import cache_root

    monkeypatch.delenv("SHAPELS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "shapels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "shapels"


def test_options_that_change_results_are_part_of_the_key(tmp_path, capsys):
    folder = project(tmp_path)
    check(capsys, "-j", "1", str(folder))
    check(capsys, "-j", "1", "--strict", str(folder))
    assert parallel_check.last_stats.hits == 0
    check(capsys, "-j", "1", "--input", "Net:x=(2, 32)", str(folder))
    assert parallel_check.last_stats.hits == 0
    check(capsys, "-j", "1", "--input", "Net:x=(2, 32)", str(folder))
    assert parallel_check.last_stats.hits == parallel_check.last_stats.files


def test_failed_analyses_are_not_kept(tmp_path, capsys, monkeypatch):
    folder = project(tmp_path)
    real = engine.analyze

    def analyze_or_fail(text, path="<string>", options=None):
        if path.endswith("model.py"):
            raise RuntimeError("boom")
        return real(text, path, options)

    monkeypatch.setattr(engine, "analyze", analyze_or_fail)
    status, _, err = check(capsys, "-j", "1", str(folder))
    assert status == 2 and "model.py: not analysed, internal error: RuntimeError: boom" in err
    monkeypatch.setattr(engine, "analyze", real)
    calls = count_analyses(monkeypatch)
    assert check(capsys, "-j", "1", str(folder))[0] == 1
    assert set(calls) == {str(folder / "model.py")}


def test_worker_stderr_comes_in_the_order_of_the_files(tmp_path, capsys, monkeypatch):
    """Workers are forked (or spawned) from this process: the failure is patched into them too where
    they are forked; either way stderr names the files in order, as one process does."""
    folder = project(tmp_path)
    real = engine.analyze

    def analyze_or_fail(text, path="<string>", options=None):
        if path.endswith(("seed000_ex1.py", "seed004_ex3.py", "model.py")):
            raise RuntimeError("boom")
        return real(text, path, options)

    monkeypatch.setattr(engine, "analyze", analyze_or_fail)
    serial = check(capsys, "--no-cache", "-j", "1", str(folder))
    assert serial[0] == 2 and serial[2].count("boom") == 3
    import multiprocessing

    if multiprocessing.get_start_method() == "fork":
        assert check(capsys, "--no-cache", "-j", "2", str(folder)) == serial


def test_fix_reads_the_file_not_the_cache(tmp_path, capsys):
    folder = tmp_path / "fix"
    folder.mkdir()
    target = folder / "seed004_ex1.py"
    target.write_bytes((EXAMPLES / "torch" / "seed004_ex1.py").read_bytes())
    assert check(capsys, str(target))[0] == 1
    assert check(capsys, "--fix", str(target))[0] == 0
    assert check(capsys, str(target))[0] == 0 and parallel_check.last_stats.hits == 0


def test_a_few_small_files_are_analysed_here_by_default(tmp_path, capsys):
    folder = project(tmp_path)
    check(capsys, "--no-cache", str(folder))
    assert parallel_check.last_stats.workers == 0
    assert check(capsys, "--no-cache", "-j", "2", str(folder))[0] == 1 and parallel_check.last_stats.workers == 2


def test_jobs_must_be_a_positive_number(capsys):
    assert cli.main(["check", "--jobs", "0", str(EXAMPLES / "torch")]) == 2
    assert cli.main(["check", "-j", "x", str(EXAMPLES / "torch")]) == 2


def test_concurrent_runs_share_one_cache_folder(tmp_path, capsys):
    folder = project(tmp_path)
    fresh = check(capsys, "--no-cache", "-j", "1", "--format", "json", str(folder))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "shapels", "check", "--format", "json", str(folder)]
    runs = [subprocess.Popen(command + ["-j", jobs], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, cwd=ROOT) for jobs in ("1", "2", "2", "1")]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert (run.returncode, out, err) == fresh
    assert not [p for p in Path(os.environ["SHAPELS_CACHE_DIR"]).rglob("*") if ".shapels-fix" in p.name]  # no temp left
    assert check(capsys, "-j", "1", "--format", "json", str(folder)) == fresh
    assert parallel_check.last_stats.hits == parallel_check.last_stats.files
    assert json.loads(fresh[1])  # the project has findings to compare


def _store_and_load(root: str, key: str, record: tuple, start: float, rounds: int) -> list:
    """In a process of its own, from the wall-clock time `start` on: store `record` under `key` and load
    the entry, `rounds` times; what each load gave."""
    import time

    from shapels.analysis.engine import Options
    from shapels.check_cache import Cache

    cache = Cache(Options(), False, Path(root))
    time.sleep(max(0.0, start - time.time()))
    seen = []
    for _ in range(rounds):
        cache.store(key, record, {})
        seen.append(cache.load(key))
    return seen


def test_concurrent_writers_of_one_entry_never_leave_half_of_one(tmp_path):
    """Four processes write and read one entry at once, each its own record (a big one, so that a write
    takes a while). The entry exists from each process's first write on, so a read that finds no entry
    would be a torn one (load reads an unreadable entry as a miss): every read is one of the records,
    whole, and no temporary file is left behind."""
    import multiprocessing
    import time

    records = [([f"writer {n} " + "x" * 400_000], None, False) for n in range(4)]
    key = "ab" + "0" * 62
    start = time.time() + 5  # after the spawned processes have imported shapels: they write together
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(_store_and_load, [(str(tmp_path), key, record, start, 40) for record in records])
    loaded = [record for seen in results for record in seen]
    assert len(loaded) == 160 and all(record in records for record in loaded)
    assert not [p for p in tmp_path.rglob("*") if ".shapels-fix" in p.name]
    overlapped = sum(record != own for own, seen in zip(records, results) for record in seen)
    print(f"{overlapped} of 160 reads found another writer's record")


def test_a_worker_that_dies_costs_only_time(tmp_path, capsys, monkeypatch):
    """A worker killed mid-file (here it exits): what the workers did not finish is analysed in this
    process, and the output is the serial run's."""
    import multiprocessing

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the patch reaches the workers only when they are forked")
    folder = project(tmp_path)
    fresh = check(capsys, "--no-cache", "-j", "1", str(folder))
    parent, real = os.getpid(), engine.analyze

    def dies_in_a_worker(text, path="<string>", options=None):
        if os.getpid() != parent and path.endswith("model.py"):
            os._exit(1)
        return real(text, path, options)

    monkeypatch.setattr(engine, "analyze", dies_in_a_worker)
    assert check(capsys, "-j", "2", str(folder)) == fresh
    assert parallel_check.last_stats.workers == 2


def test_the_workers_start_with_the_imports_parsed(tmp_path, capsys, monkeypatch):
    """Forked workers: this process analyses the smallest file first, and the workers, forked after it,
    find the import they share parsed (each parsed it again before); the output is the serial run's."""
    if parallel_check._fork_context() is None:
        pytest.skip("workers share this process's parsed imports only where they are forked")
    from shapels.analysis import scopes

    folder = tmp_path / "proj"
    folder.mkdir()
    marker = f"# shared by every model of {tmp_path.name}\n"  # a text no earlier test had parsed
    (folder / "blocks.py").write_text(marker + BLOCKS)
    models = []
    for n in range(4):  # of different sizes: the smallest is analysed here
        model = folder / f"model{n}.py"
        model.write_text(MODEL + "\n" * n + f"# model {n}\n")
        models.append(str(model))
    parses = tmp_path / "parses.txt"
    real = scopes.parse_module

    def logged(text):
        with open(parses, "a") as log:
            log.write(f"{os.getpid()} {text.startswith(marker)}\n")
        return real(text)

    monkeypatch.setattr(scopes, "parse_module", logged)
    serial = check(capsys, "--no-cache", "--jobs", "1", "--format", "json", *models)
    parses.unlink()
    scopes.parse_cached.cache_clear()
    assert check(capsys, "--no-cache", "--jobs", "2", "--format", "json", *models) == serial
    assert parallel_check.last_stats.warmed == 1 and parallel_check.last_stats.workers == 2
    blocks_parsed_by = [line.split()[0] for line in parses.read_text().splitlines() if line.endswith("True")]
    assert blocks_parsed_by == [str(os.getpid())]  # here, once; never in a worker


def test_the_recording_loader_keeps_the_first_answer_and_hashes_a_text_once(monkeypatch):
    # an analysis (and its fix trials) asks the same questions again: each answer is hashed into the
    # cache entry once, and a text asked for by another file or analysis is not hashed again
    from shapels import check_cache

    hashed: list = []
    real = check_cache.hashlib.sha256

    def counting(data: bytes):
        hashed.append(data)
        return real(data)

    monkeypatch.setattr(check_cache.hashlib, "sha256", counting)
    check_cache._text_digest.cache_clear()
    texts = iter(["WIDTH = 1\n", "WIDTH = 2\n"])
    recorder = check_cache.RecordingLoader(lambda importer, module: ("/p/blocks.py", next(texts)))
    first = recorder("/p/model.py", "blocks")
    assert recorder("/p/model.py", "blocks") == ("/p/blocks.py", "WIDTH = 2\n")
    assert recorder.answers == {("/p/model.py", "blocks"): ("/p/blocks.py", real(first[1].encode()).hexdigest())}
    assert hashed == [b"WIDTH = 1\n"]
    other = check_cache.RecordingLoader(lambda importer, module: ("/p/blocks.py", first[1]))
    other("/p/net.py", "blocks")
    assert hashed == [b"WIDTH = 1\n"] and other.answers[("/p/net.py", "blocks")] == recorder.answers[("/p/model.py", "blocks")]


def test_a_serial_batch_freezes_each_files_survivors_and_unfreezes_at_the_end(tmp_path, capsys, monkeypatch):
    import gc

    folder = project(tmp_path)
    seen = []
    real = engine.analyze

    def spy(text, path="<string>", options=None):
        seen.append((Path(path).name, gc.get_freeze_count()))
        return real(text, path, options)

    monkeypatch.setattr(engine, "analyze", spy)
    fresh = check(capsys, "--no-cache", "--jobs", "1", "--format", "json", str(folder))
    firsts = {}
    for name, frozen in seen:  # a file's fix trials analyse it again: its first analysis counts
        firsts.setdefault(name, frozen)
    counts = list(firsts.values())
    assert counts[0] == 0 and all(n > 0 for n in counts[1:])  # from the second file on
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(engine, "analyze", real)
    assert check(capsys, "--no-cache", "--jobs", "1", "--format", "json", str(folder)) == fresh


def test_a_worker_freezes_what_each_file_leaves(tmp_path):
    import gc

    path = tmp_path / "model.py"
    path.write_text(MODEL)  # any file
    parallel_check._start_worker(engine.Options(), False, None)
    try:
        index, transfer, stderr = parallel_check._work(7, path, path.read_text(), None, None)
        assert index == 7 and stderr == ""
        assert gc.get_freeze_count() > 0  # the worker's next file: its collections skip this heap
    finally:
        gc.unfreeze()
        parallel_check._worker.clear()
