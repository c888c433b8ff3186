#!/usr/bin/env bash
# The first-start fine-tuning run on the demo shop, timed: a Release host on an empty data directory seeds the demo
# shop and queues its first run (Training:FirstRunOnSeed), with the configured default hyperparameters; the script
# waits for it and prints the run (status, metrics: base, serving and fine-tuned on the same validation users, the
# promotion note), the seconds from queued to finished, and the model versions.
#
#   docs/scripts/fine-tune-demo.sh                       # packaged MiniLM, the defaults in appsettings.json
#   BODY='{"model":"twoTower"}' docs/scripts/fine-tune-demo.sh   # no first-start run: POST this run instead
#   DATA_DIR=/tmp/shop docs/scripts/fine-tune-demo.sh    # keep the shop (a second call reuses it: no first run then)
#
# Needs: curl.
set -euo pipefail
cd "$(dirname "$0")/../.."

configuration=${CONFIGURATION:-Release}
port=${PORT:-5097}
base="http://127.0.0.1:$port"
science_key=demo-scientist-key-0123456789abcdef
first_run=true
[[ -n "${BODY:-}" ]] && first_run=false

dotnet build Discounts.Web -c "$configuration" -v q -nologo >/dev/null
dir=${DATA_DIR:-$(mktemp -d)}
work=$(mktemp -d)
cleanup() { [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; [[ -n "${DATA_DIR:-}" ]] || rm -rf "$dir"; rm -rf "$work"; }
trap cleanup EXIT

Storage__DataDirectory="$dir" Training__FirstRunOnSeed=$first_run \
  Auth__Keys__0__Key=$science_key Auth__Keys__0__Role=Scientist Auth__Keys__0__PermitsPerSecond=1000000 \
  dotnet "Discounts.Web/bin/$configuration/net10.0/Discounts.Web.dll" --urls "$base" >"$work/host.log" 2>&1 &
pid=$!
echo "host pid $pid, data $dir" >&2
until curl -sf "$base/health/ready" >/dev/null; do
  kill -0 "$pid" 2>/dev/null || { tail -30 "$work/host.log"; exit 1; }
  sleep 1
done

science() { curl -sS -X "$1" -H "X-Api-Key: $science_key" -H 'Content-Type: application/json' "$base$2" ${3:+-d "$3"}; }
field() { grep -o "\"$1\":[^,}]*" | head -1 | sed 's/.*://; s/"//g'; }
if [[ "$first_run" == false ]]; then
  science POST /api/training/runs "$BODY" >/dev/null
fi
run_id=""
until [[ -n "$run_id" ]]; do
  run_id=$(science GET /api/training/runs | field id)
  [[ -n "$run_id" ]] || sleep 1
done
while :; do
  run=$(science GET "/api/training/runs/$run_id")
  status=$(echo "$run" | field status)
  [[ "$status" == queued || "$status" == running ]] || break
  sleep 5
done
echo "$run"
stamp() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
created=$(echo "$run" | stamp createdAt); finished=$(echo "$run" | stamp finishedAt)
echo "queued to finished: $(( $(date -d "$finished" +%s) - $(date -d "$created" +%s) )) s" >&2
science GET /api/models >&2; echo >&2
grep -E "Fine-tune run|sequence scorer|epoch [0-9]" "$work/host.log" | sed 's/^ *//' | tail -40 >&2
