"""Label the corpus by running it: every builder unmutated, and the mutants of each model file.

Writes corpus/manifest.json (committed): the labels, so that evaluate.py and the tests never rerun torch.
Usage: .venv/bin/python corpus/build_manifest.py [--workers 2] [--per-file-in 6 --per-file-other 3]
Takes a few minutes on 2 cores (the biggest builders, e.g. vit_h_14 and regnet_y_128gf, dominate).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutate  # noqa: E402
import run_model  # noqa: E402
import zoo  # noqa: E402


def add_train_labels(mutants: list, workers: int) -> None:
    """3. Mutants that run in eval mode run again in train mode: a branch taken only in training
    (GoogLeNet's and Inception's auxiliary heads) can still be broken. `train_label` records it
    (batch of 2 in train mode)."""
    jobs = []
    for m in mutants:
        m.pop("train_label", None)
        if m["label"]["runs"]:
            text = mutate.Mutation(**m["mutation"]).apply(zoo.model_path(m["file"]).read_text())
            jobs.append({"stem": m["file"], "builder": m["builder"], "text": text, "mode": "train",
                         "meta": {"id": m["id"]}})
    print(f"labelling {len(jobs)} mutants that run in eval mode, in train mode", flush=True)
    by_id = {m["id"]: m for m in mutants}
    for r in run_model.label_many(jobs, workers):
        lab = r["label"]
        by_id[r["id"]]["train_label"] = {k: lab[k] for k in ("runs", "phase", "error_type", "error", "error_line")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per-file-in", type=int, default=6)
    parser.add_argument("--per-file-other", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="file stems to (re)label; others are kept from the manifest")
    parser.add_argument("--train-only", action="store_true",
                        help="only (re)do step 3 (train-mode labels) on the existing manifest")
    args = parser.parse_args(argv)
    if not zoo.sources_present():
        print("zoo sources missing: run corpus/fetch_zoo.sh", file=sys.stderr)
        return 3
    import torch

    started = time.perf_counter()
    stems = args.only or list(zoo.BUILDERS)
    if args.train_only:
        manifest = json.loads(zoo.MANIFEST.read_text())
        add_train_labels(manifest["mutants"], args.workers)
        zoo.MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
        return 0

    def progress(n, total, result):
        lab = result["label"]
        state = "runs" if lab["runs"] else f"FAILS {lab['phase']}: {lab['error_type']}: {(lab['error'] or '')[:70]}"
        print(f"  [{n}/{total}] {result.get('id') or lab['builder']}: {state} ({lab.get('seconds')}s)", flush=True)

    # 1. unmutated builders (the primary one traced, to know which constructor lines it executes)
    jobs = []
    for stem in stems:
        for i, builder in enumerate(zoo.BUILDERS[stem]):
            jobs.append({"stem": stem, "builder": builder, "trace": i == 0,
                         "meta": {"file": stem, "builder": builder, "primary": i == 0}})
    print(f"labelling {len(jobs)} unmutated builders", flush=True)
    models = run_model.label_many(jobs, args.workers, progress)
    executed = {m["file"]: set(m["label"].pop("executed_lines", [])) for m in models if m["primary"]}
    for m in models:
        m["label"].pop("executed_lines", None)

    # 2. mutants of each file, labelled with its primary builder
    mjobs = []
    for stem in stems:
        text = zoo.model_path(stem).read_text()
        builder = zoo.BUILDERS[stem][0]
        chosen = mutate.select(mutate.candidates(text), executed[stem], f"shapels-corpus-{stem}",
                               args.per_file_in, args.per_file_other)
        for k, mut in enumerate(chosen):
            mid = f"{stem}-m{k:02d}"
            mjobs.append({"stem": stem, "builder": builder, "text": mut.apply(text),
                          "meta": {"id": mid, "file": stem, "builder": builder, "mutation": asdict(mut)}})
    print(f"labelling {len(mjobs)} mutants", flush=True)
    mutants = run_model.label_many(mjobs, args.workers, progress)

    add_train_labels(mutants, args.workers)

    old = json.loads(zoo.MANIFEST.read_text()) if (args.only and zoo.MANIFEST.exists()) else None
    if old:
        models = [m for m in old["models"] if m["file"] not in stems] + models
        mutants = [m for m in old["mutants"] if m["file"] not in stems] + mutants
    order = {stem: i for i, stem in enumerate(zoo.BUILDERS)}
    models.sort(key=lambda m: (order[m["file"]], zoo.BUILDERS[m["file"]].index(m["builder"])))
    mutants.sort(key=lambda m: (order[m["file"]], m["id"]))
    wheel = next(iter(sorted((zoo.ROOT / ".tools" / "zoo").glob("torchvision-*.whl"))), None)
    manifest = {
        "_about": ("Labels of the shapels corpus, made by corpus/build_manifest.py by running each model "
                   "with torch (CPU) through corpus/run_model.py: builder() with no weights, eval(), "
                   "forward on torch.randn(1, 3, 224, 224) (299 for inception_v3) under no_grad. "
                   "A mutant changes one layer constructor argument (mutation.line is the mutated line, "
                   "1-based; col 0-based); its label is what running it did."),
        "torchvision_wheel": wheel.name if wheel else None,
        "torch": torch.__version__,
        "files": {stem: hashlib.sha256(zoo.model_path(stem).read_bytes()).hexdigest() for stem in zoo.BUILDERS},
        "label_seconds": round(time.perf_counter() - started, 1),
        "models": models,
        "mutants": mutants,
    }
    zoo.MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    fails = sum(1 for m in mutants if not m["label"]["runs"])
    print(f"wrote {zoo.MANIFEST}: {len(models)} models ({sum(m['label']['runs'] for m in models)} run), "
          f"{len(mutants)} mutants ({fails} fail), {manifest['label_seconds']}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
