#!/usr/bin/env bash
# make lock: re-pin requirements.txt from requirements.in in a throwaway venv.
set -euo pipefail
cd "$(dirname "$0")/.."
APP_PINS=roles/inventory_api/files/app/requirements.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --upgrade pip
"$tmp/venv/bin/pip" install --quiet -r requirements.in
# What the app's requirements.txt pins stays pinned there only.
{ echo "# Pinned by 'make lock' from requirements.in (Python $(python3 -c 'import sys; print(*sys.version_info[:2], sep=".")')). The app's runtime and what it pulls in"
  echo "# (Flask, gunicorn, OpenTelemetry, requests, ...) are pinned in $APP_PINS"
  echo "# only; \`make setup\` installs both files."
  "$tmp/venv/bin/pip" freeze --exclude-editable | python3 -c '
import re, sys
name = lambda line: re.sub(r"[-_.]+", "-", line.split("==")[0]).lower()
app = {name(line) for line in open(sys.argv[1]) if "==" in line and not line.startswith("#")}
sys.stdout.writelines(line for line in sys.stdin if name(line) not in app)' "$APP_PINS"; } > requirements.txt
echo "lock: requirements.txt re-pinned ($(grep -c '==' requirements.txt) packages)"
