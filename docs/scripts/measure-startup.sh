#!/usr/bin/env bash
# Times a cold start on an empty data directory: process launch to the first 200 from /health/ready, which the host
# only answers after migrating and seeding the demo shop. Prints one line per run and the median.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
port=${PORT:-5099}
dotnet build Discounts.Web -c Release -v q -nologo >/dev/null
times=()
for i in $(seq 1 "$runs"); do
  dir=$(mktemp -d)
  start=$(date +%s.%N)
  Storage__DataDirectory="$dir" dotnet Discounts.Web/bin/Release/net10.0/Discounts.Web.dll --urls "http://127.0.0.1:$port" >"$dir/host.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; do sleep 0.1; done
  end=$(date +%s.%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  t=$(awk "BEGIN { printf \"%.1f\", $end - $start }")
  echo "run $i: ${t} s ($(grep -o 'Seeded the demo shop: [0-9]* rows' "$dir/host.log"))"
  times+=("$t")
  rm -rf "$dir"
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print "median: " a[int((NR+1)/2)] " s"}'
