#!/usr/bin/env bash
# Unpack what scripts/device_golden.sh left in $OUT (fetched to a local folder DIR):
#
#     bash scripts/unpack_device_results.sh DIR
#
#   golden.tar.gz[.part-NN]  -> testdata/golden/        (models/, tokenizers/, templates/)
#   demo.tar[.part-NN]       -> models/jlight-demo/     (model, tokenizer, README.md)
#                               testdata/golden/demo/   (demo_golden.json, train_history.json)
#   results.tar.gz[.part-NN] (the single-archive fallback) -> both of the above
#
# Split pieces are joined in a temporary folder (DIR may be read-only). Existing
# testdata/golden/{models,tokenizers,templates}, testdata/golden/demo and models/jlight-demo are
# replaced only by parts that are present in DIR.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 DIR   (the folder holding golden.tar.gz / demo.tar or their .part-NN pieces)" >&2
  exit 2
fi
SRC="$(cd "$1" && pwd)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/jlight-unpack.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
say() { printf '[unpack] %s\n' "$*"; }

# assemble NAME: print the path of NAME, joined from NAME.part-* when split; nothing if absent
assemble() {
  local name="$1"
  if [ -f "$SRC/$name" ]; then
    printf '%s\n' "$SRC/$name"
  elif ls "$SRC/$name".part-* >/dev/null 2>&1; then
    # the numeric suffixes (-00, -01, ...) sort correctly as text
    cat $(ls "$SRC/$name".part-* | LC_ALL=C sort) > "$TMP/$name"
    printf '%s\n' "$TMP/$name"
  fi
}

install_golden() {   # install_golden EXTRACTED_DIR
  local g="$1" d
  mkdir -p "$ROOT/testdata/golden"
  for d in models tokenizers templates; do
    if [ -d "$g/$d" ]; then
      rm -rf "$ROOT/testdata/golden/$d"
      cp -r "$g/$d" "$ROOT/testdata/golden/$d"
      say "testdata/golden/$d: $(find "$ROOT/testdata/golden/$d" -type f | wc -l) files, $(du -sh "$ROOT/testdata/golden/$d" | cut -f1)"
    fi
  done
}

install_demo() {     # install_demo EXTRACTED_DIR
  local x="$1" f
  if [ -d "$x/jlight-demo" ]; then
    rm -rf "$ROOT/models/jlight-demo"
    mkdir -p "$ROOT/models"
    cp -r "$x/jlight-demo" "$ROOT/models/jlight-demo"
    say "models/jlight-demo: $(ls "$ROOT/models/jlight-demo" | tr '\n' ' ')($(du -sh "$ROOT/models/jlight-demo" | cut -f1))"
  fi
  for f in demo_golden.json train_history.json; do
    if [ -f "$x/$f" ]; then
      mkdir -p "$ROOT/testdata/golden/demo"
      cp "$x/$f" "$ROOT/testdata/golden/demo/$f"
      say "testdata/golden/demo/$f"
    fi
  done
}

found=0
if g="$(assemble golden.tar.gz)" && [ -n "$g" ]; then
  mkdir -p "$TMP/golden" && tar xzf "$g" -C "$TMP/golden"
  install_golden "$TMP/golden"
  found=1
fi
if d="$(assemble demo.tar)" && [ -n "$d" ]; then
  mkdir -p "$TMP/demo" && tar xf "$d" -C "$TMP/demo"
  install_demo "$TMP/demo"
  found=1
fi
if r="$(assemble results.tar.gz)" && [ -n "$r" ]; then
  mkdir -p "$TMP/results" && tar xzf "$r" -C "$TMP/results"
  [ -d "$TMP/results/golden" ] && install_golden "$TMP/results/golden"
  [ -d "$TMP/results/demo" ] && install_demo "$TMP/results/demo"
  found=1
fi
if [ "$found" = 0 ]; then
  echo "nothing to unpack in $SRC (no golden.tar.gz, demo.tar or results.tar.gz, split or not)" >&2
  exit 1
fi
for log in golden.log train.log; do
  [ -f "$SRC/$log" ] && say "log: $SRC/$log ($(wc -l < "$SRC/$log") lines; last: $(tail -n 1 "$SRC/$log"))"
done
say "done"
