#!/usr/bin/env bash
# Installs what the VS Code end-to-end test (tests/vscode/) needs into a git-ignored folder:
#   - Debian packages libkrb5-dev (code-server's native modules) and chromium (the browser),
#     only when they are missing;
#   - node 24 (code-server 4.x needs it), via `npm install node@24`;
#   - code-server 4.x from npm, installed with node 24 first on PATH;
#   - the Python `playwright` package (driver only; it drives /usr/bin/chromium, and no browser
#     is ever downloaded: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1, and `playwright install` is never run).
# Idempotent: each step is skipped when its result is already there, so a second run is fast.
#
# Usage: install-e2e-tools.sh [TOOLS_DIR]   (default: <repo>/.tools)
# Prints nothing on stdout but the final `key=value` lines (node, code_server, pythonpath).
set -euo pipefail

# All in one function: bash parses it whole before running, so an edit during a run is harmless.
main() {
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  repo="$(cd "$here/../.." && pwd)"
  tools="${1:-${SHAPELS_TOOLS_DIR:-$repo/.tools}}"
  python="${PYTHON:-python3}"
  code_server_spec="${CODE_SERVER_VERSION:-4}"
  playwright_spec="${PLAYWRIGHT_PY_VERSION:-playwright>=1.45,<2}"

  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

  log() { echo "[install-e2e-tools] $*" >&2; }
  mkdir -p "$tools"
  # One install at a time (two test runs at once share $tools).
  exec 9>"$tools/.install-e2e-tools.lock"
  flock 9

  # 1. Debian packages, only when missing.
  missing=()
  for pkg in libkrb5-dev chromium; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq >&2
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
  [ -x /usr/bin/chromium ] || { log "error: /usr/bin/chromium missing after install"; exit 1; }

  # 2. node 24 in $tools/node.
  node_dir="$tools/node"
  node_bin="$node_dir/node_modules/node/bin"
  if ! { [ -x "$node_bin/node" ] && "$node_bin/node" --version 2>/dev/null | grep -q '^v24\.'; }; then
    log "npm install node@24"
    mkdir -p "$node_dir"
    [ -f "$node_dir/package.json" ] || echo '{"private": true}' >"$node_dir/package.json"
    npm install --prefix "$node_dir" --no-save --loglevel=error node@24 >&2
  fi
  "$node_bin/node" --version | grep -q '^v24\.' || { log "error: node 24 not usable at $node_bin"; exit 1; }

  # 3. code-server with node 24 first on PATH (install and run).
  cs_dir="$tools/code-server"
  cs_bin="$cs_dir/node_modules/.bin/code-server"
  if ! { [ -x "$cs_bin" ] && [ -f "$cs_dir/.installed" ]; }; then
    log "npm install code-server@$code_server_spec (takes a few minutes)"
    mkdir -p "$cs_dir"
    [ -f "$cs_dir/package.json" ] || echo '{"private": true}' >"$cs_dir/package.json"
    # Native modules are built against node 24's own headers (shipped in the node-linux-* package),
    # not against a `nodedir` that a user npmrc may point at (here: /usr, node 20).
    nodedir=()
    for d in "$node_dir"/node_modules/node/node_modules/node-linux-*/ "$node_dir"/node_modules/node-linux-*/; do
      [ -f "$d/include/node/node_version.h" ] && { nodedir=("npm_config_nodedir=${d%/}"); break; }
    done
    env PATH="$node_bin:$PATH" "${nodedir[@]}" \
      npm install --prefix "$cs_dir" --no-save --loglevel=error --unsafe-perm "code-server@$code_server_spec" >&2
    # --version writes a default config under $HOME: keep that inside $tools.
    HOME="$cs_dir/.home" XDG_CONFIG_HOME="$cs_dir/.home/.config" XDG_DATA_HOME="$cs_dir/.home/.local/share" \
      PATH="$node_bin:$PATH" "$cs_bin" --version >&2
    touch "$cs_dir/.installed"
  fi

  # 4. Python playwright (driver only) in $tools/python.
  py_dir="$tools/python"
  if ! PYTHONPATH="$py_dir" "$python" -c "import playwright.sync_api" 2>/dev/null; then
    log "pip install $playwright_spec into $py_dir"
    "$python" -m pip install --quiet --disable-pip-version-check --no-input \
      --target "$py_dir" --upgrade "$playwright_spec" >&2
  fi

  echo "node=$node_bin/node"
  echo "code_server=$cs_bin"
  echo "pythonpath=$py_dir"
}

main "$@"
