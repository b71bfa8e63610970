#!/usr/bin/env python3
"""Writes first_names_world.txt: given names of many origins (Nordic, Baltic, Slavic, Turkish,
Arabic, West African, South and South-East Asian… as written in ASCII Latin letters; names
written with accents are left out) that the US Census lists (first_names.txt, surnames.txt) do
not hold. The source is PyPI `nomquamgender` 0.1.4 (MIT, "data and code", Ian Van Buskirk
2022): name_data.json, given names gathered from 36 public name-gender sources for research.
Not from Faker or any other generator of fake data, which made our evaluation sets.

A name is kept when at least 4 of those sources hold it 50 times or more in all, it is written
in ASCII letters (an apostrophe or a hyphen inside), it has three letters or more, and it is no
English word (npm `word-list` 4.1.0, MIT, as build_english_names.py reads it; nor our
english_names.txt or common_words.txt), no word of a country's name (countries.txt) or of a
region's (ISO 3166-2 as PyPI pycountry 26.2.16 ships it, only read to leave words out), and no
word of our clinical vocabularies: a word of those is a name only where the words around it
say so, and the Census lists already decide which of them are.

    python3 -m venv /tmp/nqg-venv && /tmp/nqg-venv/bin/pip download --no-deps -d /tmp/nqg nomquamgender==0.1.4
    cd /tmp/nqg && unzip -o -q nomquamgender-0.1.4-py3-none-any.whl -d x && cd -
    mkdir -p /tmp/name-shape && cd /tmp/name-shape && npm pack word-list@4.1.0
    mkdir -p wl && tar xzf word-list-4.1.0.tgz -C wl && cd -
    /tmp/nqg-venv/bin/pip download --no-deps -d /tmp/pyc pycountry==26.2.16
    cd /tmp/pyc && unzip -o -q pycountry-26.2.16-py3-none-any.whl -d x && cd -
    python3 src/pii/vocab/build_world_names.py /tmp/nqg/x/nomquamgender/name_data.json \
        /tmp/name-shape /tmp/pyc/x/pycountry/databases/iso3166-2.json
"""

import json
import os
import re
import sys
import unicodedata

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


def fold(text):
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )


def main(name_data, fetched, subdivisions):
    with open(name_data, encoding="utf-8") as f:
        data = json.load(f)
    census = set()
    for f in ("first_names.txt", "surnames.txt", "first_names_ours.txt"):
        census.update(lines(os.path.join(HERE, f)))
    english = set(lines(os.path.join(fetched, "wl/package/words.txt")))
    english.update(lines(os.path.join(HERE, "english_names.txt")))
    english.update(lines(os.path.join(HERE, "common_words.txt")))
    country_words = {w for c in lines(os.path.join(HERE, "countries.txt")) for w in c.split()}
    # Regions, provinces and states named in one word (ISO 3166-2 as PyPI pycountry ships it:
    # "California", "Riyadh") and the words of our clinical vocabularies ("Mounjaro") are no
    # given names.
    with open(subdivisions, encoding="utf-8") as f:
        for entry in json.load(f)["3166-2"]:
            country_words.add(fold(entry["name"]).lower())
    for f in ("medications.txt", "procedures.txt", "conditions.txt", "allergens.txt"):
        for term in lines(os.path.join(HERE, f)):
            country_words.update(term.lower().split())
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
    main(sys.argv[1], sys.argv[2], sys.argv[3])
