"""Sweeping a model library's sources with `shapels check`, read as files (a manual check, not CI).

A library's own files are code that runs, so any error or warning on one is a false alarm to look at,
and a file that stops at the time budget is a gap. The wheel is fetched with pip (no dependencies)
into .tools/<package> and only unzipped: nothing of it is imported.

Usage: .venv/bin/python corpus/package_sweep.py transformers 5.24.0 'transformers/models/*/modeling_*.py'
(writes corpus/<PACKAGE>_RESULTS.md); corpus/timm_sweep.py uses the same pieces and also drives models.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shapels.analysis.engine import Options, analyze  # noqa: E402
from shapels.imports import FileLoader  # noqa: E402
from wheels import fetch  # noqa: E402,F401  (timm_sweep/timm_mutants import it from here)

ZOO = ROOT / ".tools" / "zoo" / "src"  # torchvision's sources (corpus/fetch_zoo.sh): libraries import its ops


def loader(src: Path) -> FileLoader:
    return FileLoader(roots=[src, ZOO], include_site_packages=False)


def sweep_files(src: Path, pattern: str) -> dict:
    """`shapels check` on every file under src matching the glob pattern."""
    files = sorted(src.glob(pattern))
    flagged, partial, internal, slow = [], [], [], []
    started = time.perf_counter()
    for path in files:
        t = time.perf_counter()
        result = analyze(path.read_text(), str(path), Options(loader=loader(src)))
        bad = [f for f in result.findings if f.severity in ("error", "warning")]
        if bad:
            flagged.append((path.relative_to(src), [(f.code, f.span.start_line, f.message[:160]) for f in bad]))
        if any(f.code == "analysis-internal-error" for f in result.findings):
            internal.append(path.relative_to(src))  # a bug in shapels, not the time budget
        elif result.partial:
            partial.append(path.relative_to(src))
        slow.append((time.perf_counter() - t, path.relative_to(src)))
    return {"files": len(files), "flagged": flagged, "partial": partial, "internal": internal,
            "seconds": time.perf_counter() - started,
            "slowest": sorted(slow, reverse=True)[:3]}


def summary(files: dict) -> str:
    """One line for a results file, and each flagged file after it."""
    line = (f"- `shapels check` on all {files['files']} files: **{len(files['flagged'])} with an error or warning**, "
            f"{len(files['partial'])} stopped at the time budget, {len(files['internal'])} with an internal error "
            f"({files['seconds']:.0f} s in all; slowest: "
            + ", ".join(f"{p} {s:.2f} s" for s, p in files["slowest"]) + ").")
    flagged = [f"\nFlagged: `{path}`: " + "; ".join(f"{c} line {n}: {m}" for c, n, m in found)
               for path, found in files["flagged"]] + [f"\nInternal error: `{path}`" for path in files["internal"]]
    # a file past the budget is a gap, not a finding; which one it is depends on the machine's load
    flagged += [f"\nStopped at the time budget: `{path}`" for path in files["partial"]]
    return line + "".join(flagged)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("version")
    parser.add_argument("pattern", help="a glob under the unzipped wheel, e.g. 'transformers/models/*/modeling_*.py'")
    args = parser.parse_args(argv)
    src = fetch(args.package, args.version)
    files = sweep_files(src, args.pattern)
    out = Path(__file__).resolve().parent / f"{args.package.upper()}_RESULTS.md"
    out.write_text(
        f"# shapels on {args.package} {args.version} (static side, a manual check)\n\n"
        f"Reproduce: `corpus/fetch_zoo.sh && .venv/bin/python corpus/package_sweep.py {args.package} {args.version} "
        f"'{args.pattern}'` (not part of CI). Every file is code that runs: any error or warning on it is a "
        f"false alarm.\n\n{summary(files)}\n")
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
