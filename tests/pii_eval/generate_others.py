#!/usr/bin/env python3
"""Writes the evaluation sets whose sentence frames were written by others.

The frames are the 210 sentence templates of PyPI `presidio-evaluator` 0.3.2 (MIT, Microsoft:
`data_generator/raw_data/templates.txt`): bank-support chat turns, "Bot: … User: …" dialogue,
letters and signature blocks, forms, song and film trivia, news lines. They are read from the
installed package, not copied here. The values come from Faker (every world locale of
`generate.py` and the English ones), so the names and addresses are of many countries.

The templates are split by alternation: `others_dev.jsonl` (odd lines) is what rules may be
tuned on, `others_check.jsonl` (even lines, the other half of the world locales) is only
scored. Templates whose labels are unclear for our eight types are left out: a street named
alone ("lives on X street", "the corner of X and Y"), which is neither an address nor nothing.

Labels: a template's person slots (with a title slot right before them) are `person`; a run
of address slots (building number, street, unit, city, state, postcode, country) joined only
by spaces, commas, newlines and quote marks, holding a street, is one `address`, as is
`{{address}}`; phone, e-mail, card, SSN, IBAN and IP slots are their type. Cities, countries,
organisations, nationalities, dates, ages, jobs and URLs are filled but not labelled.

Reproduce:
    python3 -m venv /tmp/pii-venv
    /tmp/pii-venv/bin/pip install faker==40.63.0 && \
        /tmp/pii-venv/bin/pip install --no-deps presidio-evaluator==0.3.2
    /tmp/pii-venv/bin/python tests/pii_eval/generate_others.py
"""

import csv
import datetime
import importlib.util
import os
import random
import re
import sys

# Some Faker locales pick from sets, whose order follows Python's string hashing: fix it, so
# the same command writes the same files.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

from faker import Faker

from generate import WORLD_LOCALES, grouped, iban, spoken_phone, write

PERSON = {
    "person", "name", "name_female", "name_male", "first_name", "first_name_male",
    "first_name_female", "first_name_nonbinary", "last_name", "last_name_male",
    "last_name_female",
}
TITLE = {"prefix", "prefix_male", "prefix_female"}
ADDRESS_PART = {
    "building_number", "street_name", "secondary_address", "city", "state_abbr", "zipcode",
    "postcode", "country",
}
TYPED = {
    "phone_number": "phone", "email": "email", "credit_card_number": "card_number",
    "ssn": "ssn", "iban": "iban", "ip_address": "ip_address", "address": "address",
}
# What may stand between two parts of one address.
JOINER = re.compile(r"^[\s,>?]*$")
SLOT = re.compile(r"\{\{([a-z_]+)\}\}")


def raw_data(name):
    spec = importlib.util.find_spec("presidio_evaluator")
    root = spec.submodule_search_locations[0]
    return os.path.join(root, "data_generator", "raw_data", name)


def templates():
    with open(raw_data("templates.txt"), encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    return [t.replace("\\n", "\n").replace("\\,", ",") for t in lines]


def nationalities():
    with open(raw_data("nationalities.csv"), encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def unclear(template):
    """A street without a number or a city beside it: not labelled either way here."""
    slots = SLOT.findall(template)
    if "street_name" not in slots and "{street_name}" not in template:
        return False
    if "{street_name}" in template and "{{street_name}}" not in template:
        return True
    return not ("building_number" in slots)


def value(slot, fake, us, rng, nat, multiline):
    """A value for one slot from this locale's Faker, the US one where the locale has none."""
    def ask(name, fallback=None):
        for f in (fake, us):
            try:
                return getattr(f, name)()
            except AttributeError:
                continue
        return fallback

    if slot == "address":
        a = ask("address")
        return a if multiline and rng.random() < 0.5 else a.replace("\n", ", ")
    if slot == "phone_number":
        number = ask("phone_number")
        return spoken_phone(number, rng) if not multiline and rng.random() < 0.15 else number
    if slot == "credit_card_number":
        return grouped(us.credit_card_number(), rng)
    if slot == "iban":
        return iban(fake, rng) if hasattr(fake, "iban") else iban(us, rng)
    if slot == "ip_address":
        return rng.choice([fake.ipv4_public, fake.ipv4, fake.ipv6])()
    if slot == "ssn":
        return us.ssn()
    if slot == "organization":
        return ask("company")
    if slot in ("nationality", "nation_woman", "nation_plural"):
        key = {"nationality": "nationality", "nation_woman": "woman", "nation_plural": "plural"}
        return rng.choice(nat)[key[slot]].title()
    # Dates from fixed ranges (Faker's own are relative to today).
    if slot == "date_of_birth":
        born = fake.date_between_dates(datetime.date(1935, 1, 1), datetime.date(2006, 12, 31))
        return born.strftime(rng.choice(["%d/%m/%Y", "%B %d, %Y", "%Y-%m-%d"]))
    if slot == "date_time":
        when = fake.date_time_between_dates(
            datetime.datetime(2000, 1, 1), datetime.datetime(2025, 12, 31))
        return when.strftime("%B %d, %Y %H:%M")
    if slot == "age":
        return str(rng.randint(18, 90))
    if slot == "year":
        return str(rng.randint(1950, 2024))
    if slot == "us_driver_license":
        return us.bothify("?#######").upper()
    if slot in ("first_name_nonbinary",):
        return ask("first_name_nonbinary") or ask("first_name")
    if slot in ("last_name_male", "last_name_female"):
        return ask(slot) or ask("last_name")
    if slot in ("prefix", "prefix_male", "prefix_female"):
        return ask(slot) or rng.choice(["Mr.", "Ms.", "Dr."])
    if slot == "person":
        return ask("name")
    if slot == "state_abbr":
        return us.state_abbr()
    if slot == "zipcode":
        return us.zipcode()
    return ask(slot)


def render(template, fake, us, rng, nat):
    """The sentence and its labelled spans (character offsets)."""
    multiline = "\n" in template
    pieces = []  # (slot or None, text)
    at = 0
    for m in SLOT.finditer(template):
        pieces.append((None, template[at:m.start()]))
        pieces.append((m.group(1), value(m.group(1), fake, us, rng, nat, multiline)))
        at = m.end()
    pieces.append((None, template[at:]))

    text = ""
    placed = []  # (slot, start, end)
    for slot, s in pieces:
        if slot:
            placed.append((slot, len(text), len(text) + len(s)))
        text += s

    spans = []
    i = 0
    while i < len(placed):
        slot, s, e = placed[i]
        if slot in TITLE and i + 1 < len(placed) and placed[i + 1][0] in PERSON \
                and text[e:placed[i + 1][1]] == " ":
            spans.append(["person", s, placed[i + 1][2]])
            i += 2
            continue
        if slot in PERSON:
            spans.append(["person", s, e])
        elif slot in TYPED:
            spans.append([TYPED[slot], s, e])
        elif slot in ADDRESS_PART:
            j = i
            while j + 1 < len(placed) and placed[j + 1][0] in ADDRESS_PART \
                    and JOINER.match(text[placed[j][2]:placed[j + 1][1]]):
                j += 1
            run = [p[0] for p in placed[i:j + 1]]
            if "street_name" in run and len(run) > 1:
                end = placed[j][2]
                if text[end:].startswith(" St."):
                    end += 4
                spans.append(["address", s, end])
            i = j + 1
            continue
        i += 1
    return {"text": text, "spans": spans}


def build(frames, locales, seed, n):
    rng = random.Random(seed)
    nat = nationalities()
    fakers = {}
    for k, loc in enumerate(locales):
        fakers[loc] = Faker(loc)
        fakers[loc].seed_instance(seed + k)
    us = Faker("en_US")
    us.seed_instance(seed - 1)
    out = []
    for i in range(n):
        fake = fakers[locales[i % len(locales)]]
        out.append(render(frames[rng.randrange(len(frames))], fake, us, rng, nat))
    return out


if __name__ == "__main__":
    usable = [t for t in templates() if not unclear(t)]
    dev_frames, check_frames = usable[0::2], usable[1::2]
    write("others_dev.jsonl",
          build(dev_frames, WORLD_LOCALES[0::2] + ["en_US", "en_GB"], 6101, 2000))
    write("others_check.jsonl",
          build(check_frames, WORLD_LOCALES[1::2] + ["en_US", "en_AU"], 7207, 2000))
