#!/usr/bin/env python3
"""Writes countries.txt (and countries_english.txt, the English ones): the names of the world's countries and territories, in English and in
every language written in Latin letters that PyPI `pycountry` 26.2.16 translates them into
(its ISO 3166-1 database and translations come from Debian's iso-codes, LGPL-2.1; the names
themselves are the standard's). Lower case, one per line: "uruguay", "american samoa",
"estados unidos". A country is not a person, however its words look ("Anguilla was super
fun to visit!").

    pip download pycountry==26.2.16 --no-deps -d /tmp/pycountry
    cd /tmp/pycountry && unzip -q pycountry-26.2.16-py3-none-any.whl
    cd - && python3 src/pii/vocab/build_countries.py /tmp/pycountry
"""

import gettext
import json
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))


def latin(name):
    return all(
        not c.isalpha() or "LATIN" in unicodedata.name(c, "")
        for c in name
    )


def main(unpacked):
    base = os.path.join(unpacked, "pycountry")
    with open(os.path.join(base, "databases", "iso3166-1.json"), encoding="utf-8") as f:
        countries = json.load(f)["3166-1"]
    english = set()
    for c in countries:
        for field in ("name", "official_name", "common_name"):
            if field in c:
                english.add(c[field])
    names = {n.lower() for n in english}
    locales = os.path.join(base, "locales")
    for lang in sorted(os.listdir(locales)):
        mo = os.path.join(locales, lang, "LC_MESSAGES", "iso3166-1.mo")
        if not os.path.exists(mo):
            continue
        with open(mo, "rb") as f:
            t = gettext.GNUTranslations(f)
        for n in english:
            translated = t.gettext(n)
            if translated != n and latin(translated):
                names.add(translated.lower())
    # Names with a comma are the standard's inverted forms ("korea, republic of"); a caller
    # says the other form.
    kept = sorted(n for n in names if "," not in n and len(n) >= 4)
    with open(os.path.join(HERE, "countries.txt"), "w", encoding="utf-8") as f:
        f.write("# Countries and territories in Latin-script languages: PyPI pycountry 26.2.16\n")
        f.write("# (ISO 3166-1 via Debian iso-codes, LGPL-2.1); built by build_countries.py.\n")
        f.writelines(n + "\n" for n in kept)
    # The English names alone: a name that is a whole country's name in some other language
    # ("Eben Solomon", "Nam Phi") may be a person's.
    in_english = sorted(n for n in {e.lower() for e in english} if "," not in n and len(n) >= 4)
    with open(os.path.join(HERE, "countries_english.txt"), "w", encoding="utf-8") as f:
        f.write("# Countries and territories by their English names: PyPI pycountry 26.2.16\n")
        f.write("# (ISO 3166-1 via Debian iso-codes, LGPL-2.1); built by build_countries.py.\n")
        f.writelines(n + "\n" for n in in_english)
    print(f"{len(kept)} names, {len(in_english)} in English")


if __name__ == "__main__":
    main(sys.argv[1])
