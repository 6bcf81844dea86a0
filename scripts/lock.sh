#!/usr/bin/env bash
# make lock: re-pin requirements.txt from requirements.in in a throwaway venv.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --upgrade pip
"$tmp/venv/bin/pip" install --quiet -r requirements.in
{ echo "# Pinned by 'make lock' from requirements.in (Python $(python3 -c 'import sys; print(*sys.version_info[:2], sep=".")'))."
  "$tmp/venv/bin/pip" freeze --exclude-editable; } > requirements.txt
echo "lock: requirements.txt re-pinned ($(grep -c '==' requirements.txt) packages)"
