#!/usr/bin/env bash
# Profile building, ours (ML.NET, `benchmark-profiles` verb) against scikit-learn, on the same synthetic corpora.
# Runs alternate (ours, sklearn, ours, sklearn, ...) so both see the same machine load; prints every run as a JSON
# line and then a median table. Usage: docs/scripts/benchmark-profiles.sh [SIZES] [REPEATS] [DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=${1:-10000,100000}
repeats=${2:-3}
dir=${3:-/tmp/discounts-profile-bench}
mkdir -p "$dir"
dotnet build Discounts.Web -c Release -v q -nologo >/dev/null
runs="$dir/runs.jsonl"
: > "$runs"
for size in ${sizes//,/ }; do
  for r in $(seq 1 "$repeats"); do
    dotnet Discounts.Web/bin/Release/net10.0/Discounts.Web.dll benchmark-profiles --sizes "$size" --repeats 1 --dir "$dir" 2>>"$dir/ours.err" | tee -a "$runs"
    /usr/bin/python3 docs/scripts/profile_bench_sklearn.py --dir "$dir" --sizes "$size" --repeats 1 2>>"$dir/sklearn.err" | tee -a "$runs"
  done
done
/usr/bin/python3 - "$runs" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| texts | users | ours fit (s) | sklearn fit (s) | fit ratio sklearn/ours | ours score (ms/user) | sklearn score (ms/user) |")
print("|---|---|---|---|---|---|---|")
for size in sorted({r["texts"] for r in rows}):
    def med(tool, key):
        return statistics.median(x for r in rows if r["texts"] == size and r["tool"] == tool for x in ([r[key]] if not isinstance(r[key], list) else r[key]))
    of, sf = med("discounts-mlnet", "fitSeconds"), med("sklearn", "fitSeconds")
    os_, ss = med("discounts-mlnet", "scorePerUserMs"), med("sklearn", "scorePerUserMs")
    users = next(r["users"] for r in rows if r["texts"] == size)
    print(f"| {size:,} | {users:,} | {of:.2f} | {sf:.2f} | {sf/of:.2f} | {os_:.3f} | {ss:.3f} |")
PY
