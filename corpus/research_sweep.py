"""A sweep of research-style model packages (lucidrains' einops-heavy transformers and diffusion
models, a segmentation zoo): static side only, a manual check, not CI.

Each package's wheel is fetched at a pinned version with pip (no dependencies) into .tools/<dist> and
only unzipped: nothing of it is imported. `shapels check`'s engine then runs on every .py file of the
package, reading imports from the unzipped packages (timm for segmentation-models-pytorch) and
torchvision's sources (corpus/fetch_zoo.sh), never site-packages. Every file is code that runs, so
every error-level finding is a potential false alarm to look at. Information notes (unresolved-import
for a base class from a dependency not fetched, analysis-budget, analysis-internal-error) are counted.

Usage: .venv/bin/python corpus/research_sweep.py  (writes corpus/RESEARCH_RESULTS.md)
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

from wheels import fetch  # noqa: F401  (research_mutants imports it from here)

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / ".tools" / "zoo" / "src"  # torchvision's sources (corpus/fetch_zoo.sh): libraries import its ops
RESULTS = Path(__file__).resolve().parent / "RESEARCH_RESULTS.md"

# distribution -> (version, import name). timm is read (not swept) for segmentation-models-pytorch's encoders.
PACKAGES = {
    "vit-pytorch": ("1.26.14", "vit_pytorch"),
    "x-transformers": ("2.31.10", "x_transformers"),
    "denoising-diffusion-pytorch": ("2.3.4", "denoising_diffusion_pytorch"),
    "segmentation-models-pytorch": ("0.6.0", "segmentation_models_pytorch"),
}
READ_ONLY = {"timm": ("1.0.31", "timm"), "torch-einops-utils": ("0.2.0", "torch_einops_utils")}


def archived_shapels(rev: str) -> Path:
    """A directory holding shapels/ as it was at commit `rev` (`git archive` into .tools/shapels-<commit>)."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    dest = ROOT / ".tools" / f"shapels-{commit}"
    if not (dest / "shapels").is_dir():
        archive = subprocess.run(["git", "archive", commit, "shapels"], cwd=ROOT, capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(dest)
    return dest


def _followed(output) -> bool:
    """A forward's output whose shape is known at least in part (a rank, or trailing dims)."""
    items = output.items if hasattr(output, "items") and isinstance(output.items, (tuple, list)) else [output]
    shapes = [getattr(item, "shape", None) for item in items]
    return any(shape is not None and (shape.ranked or shape.dims) for shape in shapes)


def sweep(src: Path, module: str, roots: list) -> dict:
    from shapels.analysis.engine import Options, analyze
    from shapels.imports import FileLoader

    files = sorted((src / module).rglob("*.py"))
    loader = FileLoader(roots=[src, *roots, ZOO], include_site_packages=False)
    counts: Counter = Counter()
    errors, warnings, internal, partial, unresolved = [], [], [], [], []
    classes = followed = 0
    started = time.perf_counter()
    for path in files:
        result = analyze(path.read_text(), str(path), Options(loader=loader))
        classes += len(result.modules)
        followed += sum(1 for m in result.modules if _followed(m.output))
        where = path.relative_to(src)
        for f in result.findings:
            counts[(f.severity, f.code)] += 1
            line = (where, f.code, f.span.start_line, f.message[:220])
            if f.severity == "error":
                errors.append(line)
            elif f.severity == "warning":
                warnings.append(line)
            elif f.code == "analysis-internal-error":
                internal.append(line)
            elif f.code == "unresolved-import":
                unresolved.append(line)
        if result.partial and not any(f.code == "analysis-internal-error" for f in result.findings):
            partial.append(where)
    return {"files": len(files), "counts": counts, "errors": errors, "warnings": warnings, "internal": internal,
            "partial": partial, "unresolved": unresolved, "seconds": time.perf_counter() - started,
            "classes": classes, "followed": followed}


def report(results: dict, measured: str) -> str:
    lines = ["# shapels on research-style model packages (static side, a manual check)", "",
             "Reproduce: `corpus/fetch_zoo.sh && .venv/bin/python corpus/research_sweep.py` (not part of CI; "
             "`--commit REV` measures shapels as it was at a commit). Wheels are fetched with `pip download "
             "--no-deps` at the versions below and read as files. Every file is code that runs: an error or warning "
             "on it is a potential false alarm. A module class is *followed* when its forward's output has a known "
             "rank or known trailing dims (from the file's driver, or its own run with symbolic sizes).", "",
             f"Measured: {measured}.", "",
             "| package | version | files | module classes | followed | errors | warnings | internal errors | "
             "at the budget | unresolved-import notes | other notes | seconds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for dist, r in results.items():
        notes = sum(n for (severity, code), n in r["counts"].items()
                    if severity not in ("error", "warning") and code not in ("unresolved-import", "analysis-internal-error"))
        lines.append(f"| {dist} | {PACKAGES[dist][0]} | {r['files']} | {r['classes']} | {r['followed']} | "
                     f"{len(r['errors'])} | {len(r['warnings'])} | {len(r['internal'])} | {len(r['partial'])} | "
                     f"{len(r['unresolved'])} | {notes} | {r['seconds']:.0f} |")
    for dist, r in results.items():
        for kind in ("errors", "warnings", "internal", "unresolved"):
            for where, code, line, message in r[kind]:
                lines.append(f"\n- {dist} `{where}`:{line} {code}: {message}")
        for where in r["partial"]:
            lines.append(f"\n- {dist} `{where}`: stopped at the time budget")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", help="measure shapels as it was at this commit; prints the table only")
    args = parser.parse_args(argv)
    if args.commit:
        sys.path.insert(0, str(archived_shapels(args.commit)))
        measured = f"commit {args.commit} (`--commit`: its `shapels/` from `git archive`)"
    else:
        sys.path.insert(0, str(ROOT))
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "shapels"], cwd=ROOT, capture_output=True,
                               text=True).stdout.strip()
        measured = f"commit {commit}" + (" with uncommitted changes under shapels/" if dirty else "")
    roots = [fetch(dist, version, module) for dist, (version, module) in READ_ONLY.items()]
    srcs = {dist: fetch(dist, version, module) for dist, (version, module) in PACKAGES.items()}
    results = {dist: sweep(srcs[dist], PACKAGES[dist][1], roots + [s for d, s in srcs.items() if d != dist])
               for dist in PACKAGES}
    text = report(results, measured)
    if args.commit:
        print(text)
    else:
        RESULTS.write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
