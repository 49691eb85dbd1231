#!/usr/bin/env bash
# Wall time of `lmforge quickstart` per stage, from a clean workdir.
# Run: bash benchmarks/quickstart.sh [size]   (size: small (default) or tiny)
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-small}"
workdir="$(mktemp -d)/quickstart"
start=$(date +%s)
.venv/bin/lmforge quickstart --workdir "$workdir" --size "$size"
end=$(date +%s)
echo
echo "== wall time per stage (from $workdir/report.md) =="
sed -n '/## Wall time per stage/,/^Stages finished/p' "$workdir/report.md"
echo "total wall time including start-up: $((end - start)) s"
echo "machine: $(nproc) cores, $(python3 -c 'import platform; print(platform.processor() or platform.machine())'), $(date -I)"
