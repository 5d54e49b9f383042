#!/usr/bin/env bash
# Run Lookout locally: Azurite (data under .azurite/) and the function app on it.
# Uses `func start` when Azure Functions Core Tools is installed, else `lookout serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-7071}"
# Webhook URLs point at this port unless LOOKOUT_PUBLIC_URL says otherwise (environment or local.settings.json).
if [ -z "${LOOKOUT_PUBLIC_URL:-}" ] && ! grep -q '"LOOKOUT_PUBLIC_URL": "[^"]' local.settings.json 2>/dev/null; then
  export LOOKOUT_PUBLIC_URL="http://localhost:${PORT}"
fi

mkdir -p .azurite
node_modules/.bin/azurite --silent --skipApiVersionCheck --loose --location .azurite \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 >.azurite/azurite.log 2>&1 &
azurite_pid=$!
stop_azurite() {
  # SIGINT lets Azurite save its data; it lingers while clients keep connections open, so then kill it.
  kill -INT "$azurite_pid" 2>/dev/null || return 0
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$azurite_pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$azurite_pid" 2>/dev/null || true
}
trap stop_azurite EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/10002) 2>/dev/null; then break; fi
  kill -0 "$azurite_pid" 2>/dev/null || { echo "Azurite failed to start; see .azurite/azurite.log" >&2; exit 1; }
  sleep 0.2
done

cat <<TXT
Lookout is starting on http://localhost:${PORT} (storage: Azurite, data in .azurite/).
  Dashboard:               http://localhost:${PORT}/api/dashboard/
  Webhook for Event Grid:  http://localhost:${PORT}/api/events?integration=<id>&secret=<secret>
  Each integration's exact webhook URL comes back from:
    curl -s -X POST http://localhost:${PORT}/api/integrations -d '{"registry": "myregistry.azurecr.io"}'
Stop with Ctrl-C.
TXT

if command -v func >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  source .venv/bin/activate
  func start --port "$PORT"
else
  .venv/bin/lookout serve --port "$PORT"
fi
