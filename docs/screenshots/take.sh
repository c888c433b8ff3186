#!/usr/bin/env bash
# Retakes the README's screenshots with real loss curves: starts the host on a fresh demo shop (all-MiniLM-L6-v2, CPU),
# lets it fine-tune the scorer (3 epochs of 512 examples, loss logged every step), runs a second fine-tune with another
# learning rate for the comparison page, then photographs the pages with Debian's Chromium. About 15 to 30 minutes on
# two cores. Usage: bash docs/screenshots/take.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
port=5099
admin="screenshot-admin-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
data=$(mktemp -d /tmp/discounts-screenshots-XXXXXX)
api() { curl -sf -H "X-Api-Key: $admin" -H "Content-Type: application/json" "$@"; }
wait_run() {
  until api "http://127.0.0.1:$port/api/training/runs/$1" | grep -Eq '"status":"(succeeded|failed|cancelled)"'; do sleep 10; done
}

dotnet build Discounts.Tests -v quiet
(cd Discounts.Web && Storage__DataDirectory="$data" Auth__Keys__0__Key="$admin" Auth__Keys__0__Role=Admin \
  Training__Hyperparameters__Epochs=3 Training__Hyperparameters__MaxExamplesPerEpoch=512 Training__Hyperparameters__LogEverySteps=1 \
  dotnet bin/Debug/net10.0/Discounts.Web.dll --urls "http://127.0.0.1:$port" > "$data/host.log" 2>&1) &
host=$!
trap 'kill $host 2>/dev/null || true' EXIT

until api "http://127.0.0.1:$port/api/training/runs" | grep -q '"id":1'; do sleep 5; done
wait_run 1
api -X POST "http://127.0.0.1:$port/api/training/runs" -d '{"learningRate":0.0001}' > /dev/null
wait_run 2

DISCOUNTS_UI_URL="http://127.0.0.1:$port" DISCOUNTS_UI_KEY="$admin" \
  dotnet test Discounts.Tests --no-build --filter "FullyQualifiedName~ScreenshotTests"
