#!/bin/sh
# Install Neovim (Debian package `neovim`, which has a built-in LSP client) for the real-client test.
# Does nothing when `nvim` is already on PATH. Needs root (or sudo) and Debian's package registry.
set -eu
if command -v nvim >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
else
    echo "install-neovim: not root and no sudo; cannot install neovim" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-neovim: apt-get not found; install neovim with your package manager" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends neovim
command -v nvim >/dev/null 2>&1
