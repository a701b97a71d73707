#!/usr/bin/env bash
# The one command to run on the GPU machine, from the repository root, with $OUT set:
#
#     bash scripts/device_golden.sh
#
# 1. scripts/make_golden.py       -> $GOLDEN_DIR (default /tmp/golden), log $OUT/golden.log
# 2. scripts/train_demo_model.py  -> $DEMO_DIR   (default /tmp/demo),   log $OUT/train.log
# 3. packs the results into $OUT:
#      golden.tar.gz   contents of $GOLDEN_DIR (models/, tokenizers/, templates/)
#      demo.tar        jlight-demo/ + demo_golden.json + train_history.json from $DEMO_DIR
#    files over 15 MiB are split with `split -b 15M` into NAME.part-00, NAME.part-01, ...
#    If that would make more than 8 files in $OUT, everything is repacked into one
#    results.tar.gz (golden/ + demo/, split the same way) instead.
#
# Both python steps run even if the first fails, and packing always runs (so the logs come
# back); the exit status is non-zero if either python step failed.
#
# Time: the command limit on the device is 10 minutes, so the training budget is
# min($DEMO_MINUTES, what is left of $TOTAL_BUDGET_S after make_golden minus a reserve for
# data preparation, export and packing).
#
# Environment overrides: ASSETS, GOLDEN_DIR, DEMO_DIR, DEMO_MINUTES (7), TOTAL_BUDGET_S (560),
# RESERVE_S (150), PYTHON (python3), GOLDEN_ARGS / TRAIN_ARGS (extra arguments).
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
: "${OUT:?set OUT to the folder whose files come back}"
ASSETS="${ASSETS:-$ROOT/.assets}"
GOLDEN_DIR="${GOLDEN_DIR:-/tmp/golden}"
DEMO_DIR="${DEMO_DIR:-/tmp/demo}"
DEMO_MINUTES="${DEMO_MINUTES:-7}"
TOTAL_BUDGET_S="${TOTAL_BUDGET_S:-560}"
RESERVE_S="${RESERVE_S:-150}"
PYTHON="${PYTHON:-python3}"
MAX_FILES=8
export PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

START=$(date +%s)
mkdir -p "$OUT"
say() { printf '[device_golden] %s\n' "$*"; }

if [ ! -d "$ASSETS/tokenizers" ]; then
  say "WARNING: $ASSETS/tokenizers is missing (run scripts/fetch_assets.sh and carry .assets)"
fi

# ------------------------------------------------------------------ 1. golden data
rm -rf "$GOLDEN_DIR"
{
  say "host $(hostname), $(date -u +%FT%TZ)"
  command -v nvidia-smi >/dev/null && nvidia-smi -L
  "$PYTHON" -c 'import sys, torch, transformers; print("python", sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())'
  # shellcheck disable=SC2086
  "$PYTHON" scripts/make_golden.py --assets "$ASSETS" --out "$GOLDEN_DIR" ${GOLDEN_ARGS:-}
} 2>&1 | tee "$OUT/golden.log"
RC_GOLDEN=$?
say "make_golden.py exit status $RC_GOLDEN after $(( $(date +%s) - START )) s" | tee -a "$OUT/golden.log"

# ------------------------------------------------------------------ 2. demo model
ELAPSED=$(( $(date +%s) - START ))
MINUTES=$(awk -v want="$DEMO_MINUTES" -v left="$(( TOTAL_BUDGET_S - ELAPSED - RESERVE_S ))" \
  'BEGIN { m = left / 60.0; if (m > want) m = want; if (m < 0.5) m = 0.5; printf "%.2f", m }')
rm -rf "$DEMO_DIR"
{
  say "training budget: $MINUTES minutes (asked $DEMO_MINUTES; ${ELAPSED} s already used of ${TOTAL_BUDGET_S})"
  # shellcheck disable=SC2086
  "$PYTHON" scripts/train_demo_model.py --assets "$ASSETS" --out "$DEMO_DIR" --minutes "$MINUTES" ${TRAIN_ARGS:-}
} 2>&1 | tee "$OUT/train.log"
RC_TRAIN=$?
say "train_demo_model.py exit status $RC_TRAIN after $(( $(date +%s) - START )) s" | tee -a "$OUT/train.log"

# ------------------------------------------------------------------ 3. pack
split_big() {   # split_big FILE: replace FILE by FILE.part-NN pieces if it is over 15 MiB
  local f="$1"
  if [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt $((15 * 1024 * 1024)) ]; then
    split -b 15M -d -a 2 "$f" "$f.part-" && rm -f "$f"
  fi
}

{
  rm -f "$OUT"/golden.tar.gz* "$OUT"/demo.tar* "$OUT"/results.tar*
  if [ -d "$GOLDEN_DIR" ] && [ -n "$(ls -A "$GOLDEN_DIR" 2>/dev/null)" ]; then
    tar czf "$OUT/golden.tar.gz" -C "$GOLDEN_DIR" . && split_big "$OUT/golden.tar.gz"
  else
    say "no golden output to pack"
  fi
  DEMO_ITEMS=()
  for item in jlight-demo demo_golden.json train_history.json; do
    [ -e "$DEMO_DIR/$item" ] && DEMO_ITEMS+=("$item")
  done
  if [ ${#DEMO_ITEMS[@]} -gt 0 ]; then
    tar cf "$OUT/demo.tar" -C "$DEMO_DIR" "${DEMO_ITEMS[@]}" && split_big "$OUT/demo.tar"
  else
    say "no demo output to pack"
  fi
  N=$(find "$OUT" -maxdepth 1 -type f | wc -l)
  if [ "$N" -gt "$MAX_FILES" ]; then
    say "$N files in \$OUT (> $MAX_FILES): repacking golden + demo into one results.tar.gz"
    rm -f "$OUT"/golden.tar.gz* "$OUT"/demo.tar*
    STAGE=$(mktemp -d)
    [ -d "$GOLDEN_DIR" ] && ln -s "$GOLDEN_DIR" "$STAGE/golden"
    [ -d "$DEMO_DIR" ] && ln -s "$DEMO_DIR" "$STAGE/demo"
    tar czhf "$OUT/results.tar.gz" -C "$STAGE" $(ls "$STAGE") && split_big "$OUT/results.tar.gz"
    rm -rf "$STAGE"
  fi
  say "files in \$OUT:"
  ls -l "$OUT"
  N=$(find "$OUT" -maxdepth 1 -type f | wc -l)
  [ "$N" -le "$MAX_FILES" ] || say "WARNING: $N files in \$OUT, more than the $MAX_FILES that come back"
  say "total time $(( $(date +%s) - START )) s; make_golden rc=$RC_GOLDEN, train rc=$RC_TRAIN"
} 2>&1 | tee -a "$OUT/train.log"

if [ "$RC_GOLDEN" -ne 0 ] || [ "$RC_TRAIN" -ne 0 ]; then
  exit 1
fi
exit 0
