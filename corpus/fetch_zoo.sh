#!/usr/bin/env bash
# Fetch torchvision's model sources (no install, no dependencies) into .tools/zoo/src.
# The wheel is only unzipped: torchvision does not import beside the CPU torch here, and the corpus
# reads its model files as text (static side) or runs them through corpus/run_model.py's shim.
# Usage: corpus/fetch_zoo.sh [python]   (default python: .venv/bin/python, else python3)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${1:-}"
if [ -z "$py" ]; then
  if [ -x "$root/.venv/bin/python" ]; then py="$root/.venv/bin/python"; else py=python3; fi
fi
zoo="$root/.tools/zoo"
mkdir -p "$zoo"
if [ -f "$zoo/src/torchvision/models/resnet.py" ]; then
  echo "zoo sources already at $zoo/src"; exit 0
fi
wheel="$(ls "$zoo"/torchvision-*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$wheel" ]; then
  for version in 0.29.1 0.24.1 ""; do
    spec="torchvision${version:+==$version}"
    if "$py" -m pip download --quiet --no-deps "$spec" -d "$zoo" >/dev/null 2>&1; then break; fi
  done
  wheel="$(ls "$zoo"/torchvision-*.whl 2>/dev/null | head -n1 || true)"
fi
if [ -z "$wheel" ]; then
  echo "could not download a torchvision wheel with pip" >&2; exit 3
fi
rm -rf "$zoo/src.tmp" && mkdir -p "$zoo/src.tmp"
"$py" - "$wheel" "$zoo/src.tmp" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
keep = ("torchvision/models/", "torchvision/ops/", "torchvision/transforms/_presets.py",
        "torchvision/_utils.py", "torchvision/_internally_replaced_utils.py", "torchvision/utils.py",
        "torchvision/version.py")
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(".py") and n.startswith(keep)]
    z.extractall(dest, names)
print(f"extracted {len(names)} files from {wheel.rsplit('/', 1)[-1]}")
PY
rm -rf "$zoo/src" && mv "$zoo/src.tmp" "$zoo/src"
echo "zoo sources at $zoo/src"
