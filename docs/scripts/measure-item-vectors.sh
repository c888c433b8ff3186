#!/usr/bin/env bash
# Restart cost of the scorer with a cold against a warm item vector store (docs/ARCHITECTURE.md, "Item vectors").
# Starts a Release server on a temporary data directory (demo shop seeded, real all-MiniLM-L6-v2 base model), optionally
# grows the catalogue to N generated items, then restarts it RUNS times in pairs, side by side:
#   cold: <data>/item-vectors/ deleted first, so the snapshot embeds every item through BERT (what every start did before);
#   warm: the file left by the previous start is there, so the snapshot reads it and embeds nothing.
# Each start is timed from process launch to the "Scorer base ... now serving" log line; at that moment the server's
# CPU time (utime+stime from /proc/PID/stat) is read, which other load on the machine barely moves. The store's own log
# line gives the time spent getting item vectors (read + embed + write). Prints one line per start and the medians.
#
#   docs/scripts/measure-item-vectors.sh [--items N] [--runs R] [--data DIR]
#
# --data DIR reuses (and keeps) a data directory, e.g. one already grown to N items. Needs: dotnet, curl, python3.
set -euo pipefail

ITEMS=0 RUNS=3 PORT=${PORT:-5194}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --items) ITEMS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --data) DATA_ARG=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KEEP=0
if [[ -n ${DATA_ARG:-} ]]; then mkdir -p "$DATA_ARG"; DATA=$(cd "$DATA_ARG" && pwd); KEEP=1; else DATA=$(mktemp -d /tmp/discounts-vectors-XXXX); fi
KEY="vector-bench-admin-key-$(date +%s)-0123456789"
URL="http://127.0.0.1:$PORT"
SERVER=""
TICKS=$(getconf CLK_TCK)

cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  [[ $KEEP == 1 ]] || rm -rf "$DATA"
}
trap cleanup EXIT

# Starts the server (in this shell, so SERVER stays set), waits for its scorer to serve, and leaves
# "wall_s cpu_s vectors_s reused embedded" in $DATA/timing.
start_and_time() {
  local log="$DATA/server-$1.log"
  : >"$log"
  local t0; t0=$(date +%s.%N)
  Storage__DataDirectory="$DATA" Auth__Keys__0__Key="$KEY" Auth__Keys__0__Role=Admin Auth__Keys__0__PermitsPerSecond=1000000 \
    Training__FirstRunOnSeed=false Logging__LogLevel__Default=Warning Logging__LogLevel__Discounts=Information \
    dotnet "$SERVER_DLL" --urls "$URL" >"$log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 36000); do
    if grep -q "Scorer base .* now serving" "$log"; then
      local t1; t1=$(date +%s.%N)
      local cpu; cpu=$(awk -v t="$TICKS" '{ printf "%.1f", ($14 + $15) / t }' "/proc/$SERVER/stat")
      local line; line=$(grep -o "Item vectors for weights [^:]*: [0-9]* reused from the store, [0-9]* embedded, in [0-9]* ms" "$log" | tail -1)
      local reused embedded ms
      reused=$(sed -E 's/.*: ([0-9]+) reused.*/\1/' <<<"$line")
      embedded=$(sed -E 's/.* ([0-9]+) embedded.*/\1/' <<<"$line")
      ms=$(sed -E 's/.* in ([0-9]+) ms/\1/' <<<"$line")
      awk -v a="$t0" -v b="$t1" -v c="$cpu" -v m="$ms" -v r="$reused" -v e="$embedded" 'BEGIN { printf "%.1f %s %.2f %s %s\n", b - a, c, m / 1000, r, e }' >"$DATA/timing"
      return 0
    fi
    if ! kill -0 "$SERVER" 2>/dev/null; then echo "server exited; see $log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "scorer not serving after an hour; see $log" >&2; exit 1
}

stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }

if [[ -z ${SERVER_DLL:-} ]]; then
  echo "building Release..." >&2
  (cd "$ROOT" && dotnet build Discounts.Web -c Release -v q -nologo >/dev/null)
  SERVER_DLL="$ROOT/Discounts.Web/bin/Release/net10.0/Discounts.Web.dll"
fi

# First start: seeds the demo shop and converts the base model; not counted.
echo "first start (seeding, base model conversion)..." >&2
start_and_time setup
until curl -sf "$URL/health/ready" >/dev/null; do sleep 0.5; done

if [[ $ITEMS -gt 0 ]]; then
  echo "growing the catalogue to $ITEMS items..." >&2
  python3 - "$URL" "$KEY" "$ITEMS" <<'PY'
import json, random, sys, urllib.request
url, key, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
existing, cursor = 0, None
while True:
    page = json.load(urllib.request.urlopen(urllib.request.Request(f"{url}/api/items?limit=1000" + (f"&cursor={cursor}" if cursor else ""), headers={"X-Api-Key": key})))
    existing += len(page["items"]); cursor = page.get("nextCursor")
    if not cursor: break
rng = random.Random(17)
nouns = {"Skincare": ["serum", "cleanser", "toner"], "Outdoor": ["tent", "backpack", "headlamp"], "Kitchen": ["skillet", "kettle", "blender"],
         "Books": ["novel", "cookbook", "thriller"], "Electronics": ["charger", "speaker", "headphones"], "Snacks": ["granola", "trail mix", "crisps"]}
words = ["organic", "ultralight", "wireless", "vegan", "classic", "premium", "compact", "hydrating", "family", "travel", "matte", "roast"]
batch = []
def send(batch):
    body = json.dumps({"items": batch}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{url}/api/items/batch", data=body, method="POST",
                           headers={"X-Api-Key": key, "Content-Type": "application/json"})).read()
# Numbered after the items already there, so a second growth (10k, then 100k) adds new ids instead of updating old ones.
for i in range(existing, max(existing, target)):
    category = rng.choice(list(nouns)); noun = rng.choice(nouns[category])
    batch.append({"id": f"gen-{i:07d}", "title": f"{rng.choice(words).title()} {rng.choice(words)} {noun} {i}", "category": category,
                  "brand": f"Brand{rng.randrange(500)}", "priceCents": rng.randrange(300, 30000), "costCents": 100})
    if len(batch) == 10000: send(batch); batch = []
if batch: send(batch)
print(f"catalogue: {existing} items, {max(0, target - existing)} added", file=sys.stderr)
PY
fi
stop_server

echo "uptime before: $(uptime)"
printf '%-5s %-4s %8s %8s %11s %7s %8s\n' kind run wall_s cpu_s vectors_s reused embedded
cold=() warm=()
for run in $(seq 1 "$RUNS"); do
  rm -rf "$DATA/item-vectors"
  start_and_time "cold-$run"; stop_server; read -r wall cpu vectors reused embedded <"$DATA/timing"
  printf '%-5s %-4s %8s %8s %11s %7s %8s\n' cold "$run" "$wall" "$cpu" "$vectors" "$reused" "$embedded"
  cold+=("$wall $cpu $vectors")
  start_and_time "warm-$run"; stop_server; read -r wall cpu vectors reused embedded <"$DATA/timing"
  printf '%-5s %-4s %8s %8s %11s %7s %8s\n' warm "$run" "$wall" "$cpu" "$vectors" "$reused" "$embedded"
  warm+=("$wall $cpu $vectors")
done
echo "uptime after: $(uptime)"
echo "store file: $(ls -l "$DATA"/item-vectors/*.items.bin | awk '{ print $5 " bytes" }')"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for column in 1 2 3; do
  c=$(printf '%s\n' "${cold[@]}" | awk -v k=$column '{ print $k }' | median)
  w=$(printf '%s\n' "${warm[@]}" | awk -v k=$column '{ print $k }' | median)
  name=$(sed -n "${column}p" <<<$'wall_s\ncpu_s\nvectors_s')
  awk -v n="$name" -v c="$c" -v w="$w" 'BEGIN { printf "median %-9s cold %8.2f  warm %8.2f  cold/warm %.1fx\n", n, c, w, (w > 0 ? c / w : 0) }'
done
