#!/usr/bin/env bash
# Run molecule with the test bed's images: `scripts/molecule.sh [ACTION] [SCENARIO...]`.
# ACTION defaults to `test`; no scenario means all of them, one after another, each timed.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f .testbed/images.env ]] || { echo "molecule.sh: .testbed/images.env missing: run make testbed" >&2; exit 2; }
set -a
# shellcheck disable=SC1091
source .testbed/images.env
set +a
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"

action=test
case "${1:-}" in
  test|converge|verify|destroy|create|prepare|idempotence|check|login|list) action=$1; shift ;;
esac
scenarios=("$@")
if [[ ${#scenarios[@]} -eq 0 ]]; then
  mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | grep -vx demo | sort)
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
