#!/usr/bin/env bash
# Opt-in: checks shapels' torchvision facts (shapels/rules/vision_data.py, vision_models.py) against torchvision.
# torchvision does not import beside the project's CPU torch 2.13, so this makes .tools/vision-venv with
# torch 2.14.1 and torchvision 0.29.1 (several GB: a CUDA build of torch; run on the CPU) and runs
# tests/rules/test_vision_data.py there, shapels from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.tools/vision-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torchvision" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'torch==2.14.1' 'torchvision==0.29.1' pytest hypothesis libcst sympy pygls lsprotocol
fi
PYTHONPATH="$PWD" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/rules/test_vision_data.py tests/rules/test_vision_models.py "$@"
