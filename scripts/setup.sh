#!/usr/bin/env bash
# make setup: a .venv from the pinned requirements.txt (and the app's pins, which it leaves out), then the
# collections of requirements.yml. Both steps are skipped when their input files have not changed since
# the last successful run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
COLLECTIONS=collections
APP_PINS=roles/inventory_api/files/app/requirements.txt

# stamp_ok STAMP FILE...: FILE's contents are those the stamp was written for.
digest() { cat "$@" | sha256sum | cut -d' ' -f1; }
stamp_ok() { local stamp=$1; shift; [[ -f "$stamp" && "$(cat "$stamp")" == "$(digest "$@")" ]]; }
stamp_write() { local stamp=$1; shift; digest "$@" > "$stamp"; }

if [[ ! -x $VENV/bin/python ]]; then
  echo "setup: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
if stamp_ok "$VENV/.requirements.sha256" requirements.txt "$APP_PINS"; then
  echo "setup: $VENV is up to date with requirements.txt and $APP_PINS"
else
  echo "setup: installing requirements.txt and $APP_PINS into $VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r requirements.txt -r "$APP_PINS"
  stamp_write "$VENV/.requirements.sha256" requirements.txt "$APP_PINS"
fi

if stamp_ok "$COLLECTIONS/.requirements.sha256" requirements.yml; then
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
  stamp_write "$COLLECTIONS/.requirements.sha256" requirements.yml
fi
