#!/usr/bin/env bash
# Installs the test dependencies (torch as the CPU build) into .venv and runs the whole test suite.
# The tests that need outside tools (Neovim, code-server, Chromium) install them with the project's
# own scripts. pytest's exit code 5 (no tests collected) is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[test]' 'torch==2.13.0' || exit 1
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
