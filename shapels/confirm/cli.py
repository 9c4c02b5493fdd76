"""`shapels confirm PATH [--device] [--format] [--timeout] [--memory-mb]`.

Exit status: 0 when the run succeeded and agreed with the static shapes, 1 when it raised (or was
stopped) or disagreed, 2 for a usage error or when it could not run at all (no torch, no CUDA).
"""

from __future__ import annotations

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def run_confirm(args) -> int:
    from shapels.confirm import render
    from shapels.confirm.api import confirm_file

    from shapels.cli import build_options

    report = confirm_file(
        args.path,
        device=getattr(args, "device", "auto") or "auto",
        timeout=getattr(args, "timeout", 60.0) or 60.0,
        memory_mb=getattr(args, "memory_mb", 4096),
        options=build_options([args.path], getattr(args, "input", [])),
    )
    if getattr(args, "format", "text") == "json":
        print(report.to_json())
    else:
        print(render.text(report))
    return exit_code(report)


def exit_code(report) -> int:
    if report.cannot_run:
        return EXIT_USAGE
    if not report.ok or report.disagreements:
        return EXIT_FOUND
    return EXIT_OK
