#!/usr/bin/env bash
# make setup: a .venv from the pinned requirements.txt, then the collections of requirements.yml.
# Both steps are skipped when their input file has not changed since the last successful run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
COLLECTIONS=collections

stamp_ok() { [[ -f "$2" && "$(cat "$2")" == "$(sha256sum "$1" | cut -d' ' -f1)" ]]; }
stamp_write() { sha256sum "$1" | cut -d' ' -f1 > "$2"; }

if [[ ! -x $VENV/bin/python ]]; then
  echo "setup: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
if stamp_ok requirements.txt "$VENV/.requirements.sha256"; then
  echo "setup: $VENV is up to date with requirements.txt"
else
  echo "setup: installing requirements.txt into $VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r requirements.txt
  stamp_write requirements.txt "$VENV/.requirements.sha256"
fi

if stamp_ok requirements.yml "$COLLECTIONS/.requirements.sha256"; then
  echo "setup: $COLLECTIONS/ is up to date with requirements.yml"
else
  echo "setup: installing collections of requirements.yml into $COLLECTIONS/"
  mkdir -p "$COLLECTIONS"
  if timeout "${GALAXY_TIMEOUT:-60}" "$VENV/bin/ansible-galaxy" collection install --force \
      -r requirements.yml -p "$COLLECTIONS" >"$COLLECTIONS/galaxy.log" 2>&1; then
    echo "setup: installed from Galaxy"
  else
    echo "setup: Galaxy unreachable ($(tail -n1 "$COLLECTIONS/galaxy.log")); using the ansible wheel from PyPI"
    "$VENV/bin/python" scripts/collections_from_wheel.py requirements.yml "$COLLECTIONS"
  fi
  stamp_write requirements.yml "$COLLECTIONS/.requirements.sha256"
fi
