#!/usr/bin/env bash
# Run molecule with the test bed's images: `scripts/molecule.sh [ACTION] [SCENARIO...]`.
# ACTION defaults to `test`; no scenario means all of them, one after another, each timed.
set -euo pipefail
cd "$(dirname "$0")/.."
# The test bed's settings reach molecule through .env.yml, which molecule reads by itself: a scenario
# run by hand (`.venv/bin/molecule converge -s demo`) is the same run as through this script.
[[ -f .env.yml ]] || { echo "molecule.sh: .env.yml missing: run make testbed" >&2; exit 2; }
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"

action=test
case "${1:-}" in
  test|converge|verify|destroy|create|prepare|idempotence|check|login|list) action=$1; shift ;;
esac
scenarios=("$@")
if [[ ${#scenarios[@]} -eq 0 ]]; then
  mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | grep -vxE 'demo|bench' | sort)
fi

status=0
summary=()
for scenario in "${scenarios[@]}"; do
  started=$SECONDS
  if molecule "$action" -s "$scenario"; then result=passed; else result=FAILED; status=1; fi
  summary+=("molecule $action -s $scenario: $result in $((SECONDS - started))s")
done
printf '%s\n' "${summary[@]}"
exit $status
