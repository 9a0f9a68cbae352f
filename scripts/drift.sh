#!/usr/bin/env bash
# Report releases newer than requirements.lock: resolve pyproject.toml afresh into a temporary
# file and list every package whose pin would change. Informational only: always exits 0, so
# drift never blocks a landing; `make lock` + `make test` is how the lock moves on purpose.
set -uo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
uv_version=$(sed -n 's/^UV_VERSION = //p' Makefile)
{
  python3 -m venv "$tmp/venv" &&
    "$tmp/venv/bin/python" -m pip install --quiet "uv==$uv_version" &&
    "$tmp/venv/bin/uv" pip compile --quiet pyproject.toml requirements-build.in --extra dev \
      --extra bench --universal --python-version 3.11 --no-header --upgrade -o "$tmp/newest.txt"
} >"$tmp/log" 2>&1 || { echo "drift: could not resolve the newest releases (not an error):"; tail -3 "$tmp/log"; exit 0; }
pins() { grep -E '^[A-Za-z0-9_.-]+==' "$1" | sed -E 's/ *\\$//; s/ ;.*//' | sort -u; }
changed=$(diff <(pins requirements.lock) <(pins "$tmp/newest.txt") | grep -E '^[<>]' || true)
if [ -z "$changed" ]; then
  echo "drift: requirements.lock pins the newest releases"
else
  echo "drift: newer releases than requirements.lock (< locked, > newest); not failing:"
  echo "$changed" | sed 's/^/  /'
fi
exit 0
