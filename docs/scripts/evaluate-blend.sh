#!/usr/bin/env bash
# The recommendation blend's fit on generated demo shops, one JSON line per seed (docs/BENCHMARKS.md, "The learned
# blend on held-out weeks"). Runs the `evaluate-blend` verb: the fit-recommendation-blend job's own code path (time
# split, profiles rebuilt from data before the cut-off, model selection, held-out half) without a scorer.
#
#   docs/scripts/evaluate-blend.sh [SEED ...]      # default: 20261128 (the demo shop) 1 2 3
#
# About 1 CPU-minute per seed (2,000 items, 1,000 users); prints a Markdown table row per seed on stderr.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SEEDS=("$@")
[[ ${#SEEDS[@]} -gt 0 ]] || SEEDS=(20261128 1 2 3)
(cd "$ROOT" && dotnet build Discounts.Web -c Release -v q -nologo >/dev/null)
uptime >&2
for seed in "${SEEDS[@]}"; do
  line=$(dotnet "$ROOT/Discounts.Web/bin/Release/net10.0/Discounts.Web.dll" evaluate-blend --seed "$seed" 2>/dev/null)
  echo "$line"
  python3 - "$line" >&2 <<'PY'
import json, sys
d = json.loads(sys.argv[1]); r = d["report"]; s = r["heldOutSourceHitRatesAt10"]
best = max((v, k) for k, v in s.items())
print(f"| {d['seed']} | {r['heldOutUsers']} | {r['heldOutHitRateAt10']:.3f} ({r['heldOutSelected']}) | {s['content']:.3f} | {s['cooccurrence']:.3f} "
      f"| {s['embedding']:.3f} | {s['popular']:.3f} | {best[0]:.3f} ({best[1]}) | {r['heldOutHitRateAt10'] - best[0]:+.3f} | {r['selected']} |")
PY
done
uptime >&2
