#!/usr/bin/env bash
# Profile building, ours (ML.NET fit, managed scoring; `benchmark-profiles` verb) against scikit-learn, on the same
# synthetic corpora. Runs alternate (ours, sklearn, ours, sklearn, ...) so both see the same machine load; prints every
# run as a JSON line and then a median table with wall and CPU (user + system, all threads and worker processes) time.
# Usage: docs/scripts/benchmark-profiles.sh [SIZES] [REPEATS] [DIR]
#   MLNET_SCORING=1 also times our scoring through ML.NET's own pipeline (the pre-managed path), for the breakdown.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=${1:-10000,100000}
repeats=${2:-3}
dir=${3:-/tmp/discounts-profile-bench}
mkdir -p "$dir"
dotnet build Discounts.Web -c Release -v q -nologo >/dev/null
runs="$dir/runs.jsonl"
: > "$runs"
extra=()
if [[ "${MLNET_SCORING:-0}" == 1 ]]; then extra=(--mlnet-scoring 1); fi
echo "start $(date -u +%FT%TZ) $(uptime)" >&2
for size in ${sizes//,/ }; do
  for r in $(seq 1 "$repeats"); do
    dotnet Discounts.Web/bin/Release/net10.0/Discounts.Web.dll benchmark-profiles --sizes "$size" --repeats 1 --dir "$dir" "${extra[@]}" 2>>"$dir/ours.err" | tee -a "$runs"
    echo "ours $size done $(date -u +%FT%TZ) $(uptime)" >&2
    /usr/bin/python3 docs/scripts/profile_bench_sklearn.py --dir "$dir" --sizes "$size" --repeats 1 2>>"$dir/sklearn.err" | tee -a "$runs"
    echo "sklearn $size done $(date -u +%FT%TZ) $(uptime)" >&2
  done
done
/usr/bin/python3 - "$runs" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| texts | users | fit s ours / sklearn | fit CPU s ours / sklearn | score ms/user ours / sklearn | score CPU ms/user ours / sklearn | score ratio sklearn/ours (wall, CPU) |")
print("|---|---|---|---|---|---|---|")
def med(size, tool, key):
    values = [x for r in rows if r["texts"] == size and r["tool"] == tool for x in (r[key] if isinstance(r[key], list) else [r[key]])]
    return statistics.median(values) if values else float("nan")
for size in sorted({r["texts"] for r in rows}):
    users = next(r["users"] for r in rows if r["texts"] == size)
    of, sf = med(size, "discounts-mlnet", "fitSeconds"), med(size, "sklearn", "fitSeconds")
    oc, sc = med(size, "discounts-mlnet", "fitCpuSeconds"), med(size, "sklearn", "fitCpuSeconds")
    os_, ss = med(size, "discounts-mlnet", "scorePerUserMs"), med(size, "sklearn", "scorePerUserMs")
    osc, ssc = med(size, "discounts-mlnet", "scoreCpuPerUserMs"), med(size, "sklearn", "scoreCpuPerUserMs")
    print(f"| {size:,} | {users:,} | {of:.2f} / {sf:.2f} | {oc:.1f} / {sc:.1f} | {os_:.4f} / {ss:.4f} | {osc:.4f} / {ssc:.4f} | {ss/os_:.2f}, {ssc/osc:.2f} |")
PY
