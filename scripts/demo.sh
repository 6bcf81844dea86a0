#!/usr/bin/env bash
# make demo: a local Jaeger and one lab-VM container, provisioned with playbooks/site.yml,
# then a few requests and the trace they left. The stack stays up; `make down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-up}
if [[ $action == down ]]; then
  [[ -f .env.yml ]] || exit 0
  exec bash scripts/molecule.sh destroy demo
fi
started=$SECONDS
log=.testbed/demo.log
echo "demo: starting Jaeger and a lab VM, provisioning it with playbooks/site.yml (log: $log)"
if ! { bash scripts/molecule.sh converge demo && bash scripts/molecule.sh verify demo; } >"$log" 2>&1; then
  tail -n 60 "$log"
  echo "demo: failed; the whole log is in $log" >&2
  exit 1
fi
cat .testbed/demo-report.txt
cat <<MSG

demo: ready in $((SECONDS - started))s; the stack stays up. Jaeger's API: http://127.0.0.1:16686
      log into the VM: . .venv/bin/activate && molecule login -s demo   ·   remove everything: make down
MSG
