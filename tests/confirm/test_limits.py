"""The worker's limits and odd scripts: timeout, memory cap, sys.exit, huge output, fork, stdin,
os._exit, a missing torch. Each ends with a clear result, and the worker keeps serving."""

from __future__ import annotations

import os
import sys

from shapels.confirm.api import confirm_file
from shapels.confirm.pool import WorkerPool
from tests.confirm.conftest import TORCH_EXAMPLES

GOOD = next(p for p in TORCH_EXAMPLES if p.name == "seed004_ex3.py")


def still_works(pool) -> None:
    report = confirm_file(str(GOOD), device="cpu", pool=pool)
    assert report.ok and report.output_shape == [1, 10]


def test_infinite_loop_is_stopped_and_the_worker_recovers(pool, script):
    path = script("""
        import torch
        x = torch.randn(2, 2)
        while True:
            x = x + 1
    """)
    before = pool.pid
    report = confirm_file(str(path), device="cpu", timeout=1.5, pool=pool)
    assert not report.ok
    assert report.error.kind == "timeout"
    assert "stopped after 1.5 s" in report.error.message
    assert report.device == "cpu"
    assert pool.pid != before  # killed and replaced
    still_works(pool)


def test_memory_cap(pool, script):
    path = script("""
        import torch
        big = torch.empty(1024, 1024, 1024, dtype=torch.float32)  # 4 GiB
        big.fill_(1.0)
    """)
    report = confirm_file(str(path), device="cpu", memory_mb=512, pool=pool)
    assert not report.ok
    assert report.error.kind == "memory"
    assert "exceeded the memory cap of 512 MB" in report.error.message
    still_works(pool)


def test_python_memory_error_is_the_memory_cap(pool, script):
    path = script("""
        blocks = []
        while True:
            blocks.append(bytearray(64 * 2**20))
    """)
    report = confirm_file(str(path), device="cpu", memory_mb=300, timeout=30, pool=pool)
    assert report.error.kind == "memory"
    assert "exceeded the memory cap of 300 MB" in report.error.message
    still_works(pool)


def test_sys_exit_zero_after_the_model_ran(pool, script):
    path = script("""
        import sys, torch, torch.nn as nn
        model = nn.Sequential(nn.Linear(4, 3))
        y = model(torch.randn(2, 4))
        sys.exit(0)
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.ok and report.exit_code == 0
    assert report.output_shape == [2, 3]
    assert any("sys.exit" in n for n in report.notes)


def test_sys_exit_nonzero(pool, script):
    path = script("""
        import sys
        print("bye")
        sys.exit(3)
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert not report.ok
    assert report.error.kind == "exit" and "sys.exit(3)" in report.error.message
    assert report.error.line == 4
    assert report.stdout == "bye\n"
    still_works(pool)


def test_huge_output_is_truncated(pool, script):
    path = script("""
        import os, sys
        for _ in range(200):
            print("x" * 50_000)
        os.write(1, b"y" * 1_000_000)  # below Python's sys.stdout, straight to fd 1
        print("done", file=sys.stderr)
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.ok
    assert report.stdout_truncated
    assert report.stdout_bytes > 10_000_000
    assert len(report.stdout) <= 64 * 1024
    assert any("MB of output" in n for n in report.notes)


def test_fork_in_the_script(pool, script):
    path = script("""
        import os, time, torch, torch.nn as nn
        pid = os.fork()
        if pid == 0:
            print("child")
            time.sleep(60)  # a child left running: the worker stops it
        print("parent")
        out = nn.Linear(3, 2)(torch.randn(1, 3))
    """)
    report = confirm_file(str(path), device="cpu", timeout=20, pool=pool)
    assert report.ok, report.error
    assert report.output_shape == [1, 2]
    assert "parent" in report.stdout
    still_works(pool)


def test_child_returning_into_the_worker_is_stopped(pool, script):
    path = script("""
        import os
        if os.fork() == 0:
            raise ValueError("in the child")
        os.wait()
    """)
    report = confirm_file(str(path), device="cpu", timeout=20, pool=pool)
    assert report.ok, report.error
    still_works(pool)


def test_script_reading_stdin_gets_eof(pool, script):
    path = script("""
        name = input("name? ")
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.error.kind == "exception" and report.error.type == "EOFError"
    assert report.error.line == 2
    still_works(pool)


def test_os_exit_kills_the_worker_and_it_recovers(pool, script):
    path = script("""
        import os
        os._exit(7)
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.error.kind == "crash"
    assert "status 7" in report.error.message
    still_works(pool)


def test_syntax_error(pool, script):
    path = script("""
        import torch
        def broken(:
            pass
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.error.type == "SyntaxError" and report.error.line == 3


def test_missing_torch_says_how_to_install(tmp_path, script):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "torch.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    env = dict(os.environ, PYTHONPATH=str(shim))
    no_torch = WorkerPool(env=env)
    try:
        report = confirm_file(str(GOOD), device="auto", pool=no_torch)
    finally:
        no_torch.close()
    assert not report.ok
    assert report.error.kind == "no-torch"
    assert "pip install 'shapels[confirm]'" in report.error.message
    assert sys.executable in report.error.message or "python" in report.error.message


def test_helper_module_next_to_the_script_is_reloaded(pool, tmp_path):
    (tmp_path / "helper.py").write_text("WIDTH = 3\n")
    main = tmp_path / "main.py"
    main.write_text("import torch, torch.nn as nn\nfrom helper import WIDTH\nout = nn.Linear(4, WIDTH)(torch.randn(1, 4))\n")
    first = confirm_file(str(main), device="cpu", pool=pool)
    (tmp_path / "helper.py").write_text("WIDTH = 5\n")
    second = confirm_file(str(main), device="cpu", pool=pool)
    assert first.output_shape == [1, 3]
    assert second.output_shape == [1, 5]


def test_script_runs_in_its_folder_as_main(pool, tmp_path):
    (tmp_path / "data.txt").write_text("6")
    main = tmp_path / "main.py"
    main.write_text(
        "import sys, torch, torch.nn as nn\n"
        "assert __name__ == '__main__'\n"
        "assert sys.argv[0] == __file__\n"
        "n = int(open('data.txt').read())\n"
        "if __name__ == '__main__':\n"
        "    out = nn.Linear(n, 2)(torch.randn(1, n))\n"
    )
    report = confirm_file(str(main), device="cpu", pool=pool)
    assert report.ok, report.error
    assert report.output_shape == [1, 2]


def test_unreadable_file(pool, tmp_path):
    report = confirm_file(str(tmp_path / "missing.py"), pool=pool)
    assert report.error.kind == "usage" and report.cannot_run
