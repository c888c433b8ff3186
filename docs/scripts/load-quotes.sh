#!/usr/bin/env bash
# Load test of POST /api/discounts/quotes on the demo shop with wrk, while a fine-tuning run trains and the scorer is
# swapped twice. Prints wrk's report (throughput, latency percentiles, non-2xx count) and the swap/run outcomes.
#
#   docs/scripts/load-quotes.sh                  # 60 s, 64 connections, Release build, packaged MiniLM scorer
#   DURATION=30s CONNECTIONS=32 docs/scripts/load-quotes.sh
#   SCORER=Tiny docs/scripts/load-quotes.sh      # the 2-layer test scorer: the fine-tune costs less CPU
#   DATA_DIR=/tmp/shop docs/scripts/load-quotes.sh   # keep (or reuse) the seeded shop and its model versions
#   BACKGROUND=0 DATA_DIR=/tmp/shop docs/scripts/load-quotes.sh   # the baseline: the same load with no fine-tune or swaps
#   WARM_USERS=0 docs/scripts/load-quotes.sh     # do not quote every user once first: their profile vectors are
#       then embedded during the load (the cold start after a restart or a scorer swap)
#   RECOMMENDATIONS=1 docs/scripts/load-quotes.sh
#       also loads GET /api/users/{id}/recommendations (RECOMMENDATIONS_PATH, default below) with a second wrk, the
#       connections split between the two; only on a build that has that endpoint.
#
# Needs: wrk (apt-get install -y wrk), curl, jq-free (uses grep/sed only).
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=${DURATION:-60s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
configuration=${CONFIGURATION:-Release}
scorer=${SCORER:-Pretrained}
port=${PORT:-5098}
recommendations=${RECOMMENDATIONS:-0}
background=${BACKGROUND:-1}
timeout=${TIMEOUT:-30s}
recommendations_path=${RECOMMENDATIONS_PATH:-/api/users/%s/recommendations?count=10}
base="http://127.0.0.1:$port"
shop_key=load-shop-key-0123456789abcdef
science_key=load-scientist-key-0123456789abcdef

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
dotnet build Discounts.Web -c "$configuration" -v q -nologo >/dev/null
dir=${DATA_DIR:-$(mktemp -d)}
work=$(mktemp -d)
cleanup() { [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; [[ -n "${DATA_DIR:-}" ]] || rm -rf "$dir"; rm -rf "$work"; }
trap cleanup EXIT

# Keys with no practical rate limit: this measures the service, not the limiter (whose 429s would count as non-2xx).
Storage__DataDirectory="$dir" Training__ScorerBase="$scorer" Training__FirstRunOnSeed=false \
  Auth__Keys__0__Key=$shop_key Auth__Keys__0__Role=Shop Auth__Keys__0__PermitsPerSecond=1000000 \
  Auth__Keys__1__Key=$science_key Auth__Keys__1__Role=Scientist Auth__Keys__1__PermitsPerSecond=1000000 \
  dotnet "Discounts.Web/bin/$configuration/net10.0/Discounts.Web.dll" --urls "$base" >"$work/host.log" 2>&1 &
pid=$!
echo "host pid $pid, data $dir; seeding the demo shop..."
until curl -sf "$base/health/ready" >/dev/null; do
  kill -0 "$pid" 2>/dev/null || { tail -30 "$work/host.log"; exit 1; }
  sleep 0.5
done

science() { curl -sS -X "$1" -H "X-Api-Key: $science_key" -H 'Content-Type: application/json' "$base$2" ${3:+-d "$3"}; }
field() { grep -o "\"$1\":[^,}]*" | head -1 | sed 's/.*://; s/"//g'; }
wait_run() {
  local status
  while :; do
    status=$(science GET "/api/training/runs/$1" | field status)
    [[ "$status" == queued || "$status" == running ]] || { echo "$status"; return; }
    sleep 1
  done
}

# Two small versions to swap between during the load (a reused DATA_DIR may have them already).
quick='{"epochs":1,"maxExamplesPerEpoch":64,"maxValidationUsers":20,"forcePromote":true}'
while [[ $(science GET /api/models | grep -o '"id":[0-9]*' | wc -l) -lt 2 ]]; do
  run=$(science POST /api/training/runs "$quick" | field id); echo "warm-up run $run: $(wait_run "$run")"
done
versions=$(science GET /api/models | grep -o '"id":[0-9]*' | sed 's/.*://' | head -2 | tr '\n' ' ')
read -r v_new v_old <<<"$versions"
# Let start-up work settle before measuring: the scorer's background load, and the uplift model the first quote loads.
until [[ $(science GET /api/models | field servingName) != null ]]; do sleep 1; done
curl -sf -o /dev/null -X POST -H "X-Api-Key: $shop_key" -H 'Content-Type: application/json' "$base/api/discounts/quotes" \
  -d '{"userId":"user-00001","itemIds":["sku-000001"]}'
echo "model versions $v_old and $v_new registered; serving $(science GET /api/models | field servingName)"
# A shop that has been serving has its users' profile vectors: the scorer embeds a user off the request, on the first
# quote, and quotes go without its p(buy) until then. WARM_USERS=0 measures the cold start instead.
if [[ "${WARM_USERS:-1}" == 1 ]]; then
  quote_user() { curl -sf -X POST -H "X-Api-Key: $shop_key" -H 'Content-Type: application/json' "$base/api/discounts/quotes" \
    -d "{\"userId\":\"$1\",\"itemIds\":[\"sku-000001\"]}"; }
  for u in $(seq 1 1000); do quote_user "$(printf 'user-%05d' "$u")" >/dev/null; done
  # Queued in order, so once the last user's quote carries the scorer's p(buy), every user's vector is ready.
  until quote_user user-01000 | grep -q '"scorerProbability":[0-9]'; do sleep 1; done
  echo "warmed: every demo user quoted once and embedded"
fi

# One user and three items per request, drawn at random from the demo shop's 1,000 users and 2,000 items.
cat >"$work/quotes.lua" <<'LUA'
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local u = math.random(1, 1000)
  local a, b, c = math.random(1, 2000), math.random(1, 2000), math.random(1, 2000)
  while b == a do b = math.random(1, 2000) end
  while c == a or c == b do c = math.random(1, 2000) end
  return wrk.format(nil, nil, nil, string.format(
    '{"userId":"user-%05d","itemIds":["sku-%06d","sku-%06d","sku-%06d"]}', u, a, b, c))
end
LUA
cat >"$work/recommendations.lua" <<LUA
math.randomseed(os.time() + 1)
request = function()
  return wrk.format("GET", string.format("$recommendations_path", string.format("user-%05d", math.random(1, 1000))))
end
LUA

seconds=${duration%s}
# The host's own CPU (user + system) across the load, per answered request, and the machine's load before it starts:
# on a shared machine the load average says how much else was competing.
host_cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
load_start=$(date -u +'%Y-%m-%d %H:%M:%S')
cpu_start=$(host_cpu_ticks)
quote_connections=$connections
if [[ "$recommendations" == 1 ]]; then quote_connections=$((connections / 2)); fi
echo "wrk: $duration, $quote_connections connections on POST /api/discounts/quotes"
wrk -t"$threads" -c"$quote_connections" -d"$duration" --timeout "$timeout" --latency -H "X-Api-Key: $shop_key" -s "$work/quotes.lua" \
  "$base/api/discounts/quotes" >"$work/wrk-quotes.txt" 2>&1 &
wrk_quotes=$!
if [[ "$recommendations" == 1 ]]; then
  echo "wrk: $duration, $((connections - quote_connections)) connections on GET $recommendations_path"
  wrk -t"$threads" -c"$((connections - quote_connections))" -d"$duration" --timeout "$timeout" --latency -H "X-Api-Key: $shop_key" \
    -s "$work/recommendations.lua" "$base/" >"$work/wrk-recommendations.txt" 2>&1 &
  wrk_recommendations=$!
fi

# During the load: a fine-tuning run with the default hyperparameters, and two swaps. A swap builds the new snapshot
# (embedding the whole catalogue) before its one reference exchange, so each is started in the background and its
# start and end are printed relative to the start of the load.
started=$(date +%s)
at() { echo "+$(($(date +%s) - started))s"; }
swap() {
  local from; from=$(at)
  local result; result=$(science POST "/api/models/$1/activate" | tr -d '\n' | cut -c1-120)
  echo "swap to version $1: started $from, done $(at): $result"
}
swaps=()
if [[ "$background" == 1 ]]; then
  sleep 3
  run=$(science POST /api/training/runs '{}' | field id); echo "$(at): fine-tuning run $run queued"
  sleep $((seconds / 6))
  swap "$v_old" & swaps+=($!)
  sleep $((seconds / 3))
  swap "$v_new" & swaps+=($!)
fi
wait "$wrk_quotes"
[[ -n "${wrk_recommendations:-}" ]] && wait "$wrk_recommendations"
cpu_end=$(host_cpu_ticks)
echo "$(at): load finished"
if [[ ${#swaps[@]} -gt 0 ]]; then wait "${swaps[@]}"; fi
if [[ -n "${run:-}" ]]; then
  echo "fine-tuning run $run after the load: $(science GET "/api/training/runs/$run" | field status), progress $(science GET "/api/training/runs/$run" | field progressPercent) %"
  # Cancelled, so a reused DATA_DIR does not resume it at the next start.
  science POST "/api/training/runs/$run/cancel" >/dev/null || true
fi
echo "--- POST /api/discounts/quotes"
cat "$work/wrk-quotes.txt"
requests=$(grep -o '^ *[0-9]* requests in' "$work/wrk-quotes.txt" | grep -o '[0-9]*' | head -1)
if [[ -f "$work/wrk-recommendations.txt" ]]; then
  requests=$((requests + $(grep -o '^ *[0-9]* requests in' "$work/wrk-recommendations.txt" | grep -o '[0-9]*' | head -1)))
fi
awk -v ticks=$((cpu_end - cpu_start)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
  'BEGIN { printf "host CPU: %.2f s for %d requests = %.3f ms per request\n", ticks / hz, n, n ? 1000 * ticks / hz / n : 0 }'
if [[ -f "$work/wrk-recommendations.txt" ]]; then echo "--- GET recommendations"; cat "$work/wrk-recommendations.txt"; fi
if command -v sqlite3 >/dev/null && [[ -f "$dir/discounts.db" ]]; then
  # The default guardrails (appsettings.json): at most 20 % off, the final price at least cost × 1.10, three discounts
  # per user per day, none without consent.
  echo "--- guardrails on the offers quoted during the load"
  sqlite3 -readonly -header -column "$dir/discounts.db" "
    SELECT COUNT(*) AS offers, SUM(o.DiscountPercent > 0) AS discounted, SUM(o.DiscountPercent > 20) AS over_max,
           SUM(o.Kind = 0 AND o.DiscountPercent > 0 AND o.FinalPriceCents * 10 < i.CostCents * 11) AS under_floor,
           SUM(o.DiscountPercent > 0 AND u.ConsentPersonalisation = 0) AS without_consent,
           (SELECT COUNT(*) FROM (SELECT 1 FROM Offers d WHERE d.DiscountPercent > 0 AND d.CreatedAt >= substr('$load_start', 1, 10)
              GROUP BY d.UserId, substr(d.CreatedAt, 1, 10) HAVING COUNT(*) > 3 AND MAX(d.CreatedAt) >= '$load_start')) AS users_over_daily_cap
    FROM Offers o JOIN Items i ON i.Id = o.ItemId JOIN Users u ON u.Id = o.UserId WHERE o.CreatedAt >= '$load_start';"
fi
echo "--- host warnings and errors during the run"
grep -E "^(warn|fail|crit)" -A1 "$work/host.log" | grep -v "^--$" | tail -20 || echo "none"
