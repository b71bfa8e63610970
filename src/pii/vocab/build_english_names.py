#!/usr/bin/env python3
"""Writes english_names.txt: English words a name finder could take for a name, for the context
model's "is an English word" features ("Total Lines", "Google Calendar", "Staff" are words,
"Wannapaitoonsri" is not). The words are npm `word-list` 4.1.0's (MIT, Sindre Sorhus: 274,000
English words and inflections) that are in our given-name or surname lists, or that the letter
model (name_shape.tsv, scored as `NameShape::score` does) puts on the names' side
(mean log-odds above 0; a word is shaped like a name above 0.2): the other words never make
a candidate a name.

    mkdir -p /tmp/name-shape && cd /tmp/name-shape && npm pack word-list@4.1.0
    mkdir wl && tar xzf word-list-4.1.0.tgz -C wl
    cd - && python3 src/pii/vocab/build_english_names.py /tmp/name-shape
"""

import os
import re
import sys

from build_name_shape import HERE, grams, lines

ABOVE = 0.0


def main(fetched):
    weights = {}
    for line in lines(os.path.join(HERE, "name_shape.tsv")):
        gram, weight = line.split("\t")
        weights[gram] = round(float(weight) * 16) / 16

    def score(word):
        g = grams(word)
        return sum(weights.get(x, 0.0) for x in g) / len(g) if g else 0.0

    names = set()
    for f in ("first_names.txt", "surnames.txt"):
        names.update(l.lower() for l in lines(os.path.join(HERE, f)))
    kept = sorted(
        w
        for w in (l.lower() for l in lines(os.path.join(fetched, "wl/package/words.txt")))
        if re.fullmatch(r"[a-z]+(?:['-][a-z]+)*", w) and (w in names or score(w) > ABOVE)
    )
    with open(os.path.join(HERE, "english_names.txt"), "w", encoding="utf-8") as f:
        f.write(
            "# English words a name finder could take for a name: npm word-list 4.1.0 (MIT)\n"
            "# filtered by build_english_names.py; do not edit.\n"
        )
        f.writelines(w + "\n" for w in kept)
    print(f"{len(kept)} words")


if __name__ == "__main__":
    main(sys.argv[1])
