#!/usr/bin/env python3
# Reference for tests/tokenizer_test.cpp: GPT-2's pre-tokenizer regex (the
# pattern of OpenAI's encoder.py, as llama.cpp writes it for "gpt-2") applied
# with the `regex` module (Debian: python3-regex). Reads UTF-8 lines of hex
# (one text per line), prints one line per text: the words as hex, joined by
# spaces.
import sys

import regex

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

for line in sys.stdin:
    text = bytes.fromhex(line.strip()).decode("utf-8")
    words = PAT.findall(text)
    assert "".join(words) == text
    print(" ".join(w.encode("utf-8").hex() for w in words))
