#!/usr/bin/env bash
# make setup: a .venv from the pinned requirements.txt (and the app's pins, which it leaves out), then the
# collections of requirements.yml. Both steps are skipped when their input files have not changed since
# the last successful run.
# The Python that makes the venv (PYTHON, default python3; `make setup PYTHON=python3.12`) must be one the
# kit's ansible-core runs on as a controller: requires-python in pyproject.toml. `setup.sh --check-python`
# does that check alone (tests/unit/test_setup_python.py).
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

# The controller Python the kit's ansible-core runs on: requires-python in pyproject.toml is the one source.
MIN_PYTHON=$(sed -n 's/^requires-python = ">=\([0-9]*\.[0-9]*\)"$/\1/p' pyproject.toml)
ANSIBLE_CORE=$(sed -n 's/^ansible-core==//p' requirements.txt)
if [[ ! $MIN_PYTHON =~ ^[0-9]+\.[0-9]+$ ]]; then
  echo 'setup: pyproject.toml has no requires-python = ">=X.Y" line to check the Python against' >&2
  exit 1
fi
PICK="make setup PYTHON=python3.12 (or PYTHON=/path/to/python3.X, any X >= ${MIN_PYTHON#*.})"

# check_python PY WHAT FIX: PY runs and is Python >= MIN_PYTHON; otherwise say which Python was found
# (WHAT: where it came from), which one is needed and FIX, and stop.
check_python() {
  local python=$1 what=$2 fix=$3 found major minor
  found=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null) || found=""
  if [[ ! $found =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "setup: $what '$python' does not run; the kit needs Python >= $MIN_PYTHON. $fix" >&2
    exit 1
  fi
  IFS=. read -r major minor _ <<<"$found"
  if ((major < ${MIN_PYTHON%%.*} || (major == ${MIN_PYTHON%%.*} && minor < ${MIN_PYTHON#*.}))); then
    echo "setup: $what '$python' is Python $found; the kit's Ansible (ansible-core $ANSIBLE_CORE) needs" \
      "Python >= $MIN_PYTHON on the controller. $fix" >&2
    exit 1
  fi
}

if [[ ${1:-} == --check-python ]]; then
  check_python "$PYTHON" PYTHON "Install a newer one and pick it: $PICK"
  echo "setup: $PYTHON is a Python >= $MIN_PYTHON"
  exit 0
fi

if [[ -x $VENV/bin/python ]]; then
  check_python "$VENV/bin/python" "the Python of the existing $VENV" "Remove it (rm -rf $VENV), then: $PICK"
else
  check_python "$PYTHON" PYTHON "Install a newer one and pick it: $PICK"
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
