#!/usr/bin/env python3
"""Writes name_shape.tsv: how much each letter sequence of a word says "a personal name" rather
than "an English or clinical word", for telling a name the lists do not hold ("Zinnurova",
"Omolabake") from a capitalised ordinary word.

Names (the positive side): our first_names.txt and surnames.txt (US Census 1990, public
domain) and npm `humannames` 1.0.5 (MIT, Alex Corvi: about 197,000 given names and surnames
of many origins, from censuses and social media). Words (the negative side): npm `word-list`
4.1.0 (MIT, Sindre Sorhus: 274,000 English words and their inflections), our clinical
vocabularies, common words and street words. A string on both sides ("grace", "mark") is left
out of both. The generated sets in tests/pii_eval were not used: their names come from Faker.

The model: every word is lower-cased, its letters folded to ASCII as `deunicode` does for the
common Latin letters, anything but a-z dropped, and wrapped as "^word$"; for each sequence of 2, 3 and 4 letters, the
log of its smoothed frequency among names over its frequency among words. A word's score is
the mean over its sequences (`NameShape::score` in people.rs). Sequences seen fewer than
MIN_SEEN times, or saying less than MIN_WEIGHT either way, are dropped (they would score about
0 anyway) to keep the file small.

    mkdir -p /tmp/name-shape && cd /tmp/name-shape
    npm pack humannames@1.0.5 word-list@4.1.0
    mkdir hn wl && tar xzf humannames-1.0.5.tgz -C hn && tar xzf word-list-4.1.0.tgz -C wl
    cd - && python3 src/pii/vocab/build_name_shape.py /tmp/name-shape
"""

import math
import os
import re
import sys
import unicodedata
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_SEEN = 5
MIN_WEIGHT = 0.3
# Letters NFKD does not take apart.
EXTRA = {"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "ı": "i"}


def fold(word):
    word = "".join(EXTRA.get(c, c) for c in word.lower())
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def grams(word):
    w = "^" + re.sub("[^a-z]", "", fold(word)) + "$"
    return [w[i : i + n] for n in (2, 3, 4) for i in range(len(w) - n + 1)]


def lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


def words_of(path):
    for line in lines(path):
        yield from (w.lower() for w in re.findall(r"[^\W\d_]+", line))


def main(fetched):
    names = set()
    for f in ("first_names.txt", "surnames.txt", "first_names_ours.txt"):
        names.update(l.lower() for l in lines(os.path.join(HERE, f)))
    names.update(l.lower() for l in lines(os.path.join(fetched, "hn/package/list.txt")))
    names = {n for n in names if re.fullmatch(r"[^\W\d_]+(?:['-][^\W\d_]+)*", n)}
    words = set(l.lower() for l in lines(os.path.join(fetched, "wl/package/words.txt")))
    for f in (
        "medications.txt",
        "procedures.txt",
        "conditions.txt",
        "allergens.txt",
        "common_words.txt",
        "street_suffixes.txt",
    ):
        words.update(words_of(os.path.join(HERE, f)))
    both = names & words
    names -= both
    words -= both
    named, worded = Counter(), Counter()
    for n in names:
        named.update(grams(n))
    for w in words:
        worded.update(grams(w))
    total_n, total_w = sum(named.values()), sum(worded.values())
    seen = set(named) | set(worded)
    out = []
    for g in seen:
        if named[g] + worded[g] < MIN_SEEN:
            continue
        weight = math.log((named[g] + 1) / (total_n + len(seen))) - math.log(
            (worded[g] + 1) / (total_w + len(seen))
        )
        if abs(weight) >= MIN_WEIGHT:
            out.append((g, weight))
    out.sort()
    with open(os.path.join(HERE, "name_shape.tsv"), "w", encoding="utf-8") as f:
        f.write(
            f"# written by build_name_shape.py: {len(names)} names, {len(words)} words; "
            "letters\tlog-odds of a name\n"
        )
        for g, weight in out:
            f.write(f"{g}\t{weight:.2f}\n")
    print(f"{len(out)} sequences from {len(names)} names and {len(words)} words")


if __name__ == "__main__":
    main(sys.argv[1])
