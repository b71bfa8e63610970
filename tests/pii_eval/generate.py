#!/usr/bin/env python3
"""Writes the two generated evaluation sets of the personal-data detector.

Values come from Faker (PyPI `faker`, several English locales); the sentence frames are
ours, and the two sets share none: `dev.jsonl` is the set the rules are tuned on,
`check.jsonl` (other frames, other seed, another locale mix) only tells whether the tuning
overfitted the first; `third.jsonl` (frames written after the rules were done) was scored once;
`world_dev.jsonl` and `world_check.jsonl` put the names, addresses and numbers of every other
Latin-script locale Faker ships (two disjoint halves) into the dev and check frames, with
numbers spoken as words now and then. Each line is {"text": ..., "spans": [[type, start, end], ...]} with
offsets in characters (Python string indices = Unicode scalar values, as the detector counts).

Labelled types: person, email, phone, address, card_number, ssn, iban, ip_address. Clinical
words appear unlabelled: a person or address found on them is a false positive.

Reproduce (Faker 40.63.0):
    python3 -m venv /tmp/pii-venv && /tmp/pii-venv/bin/pip install faker==40.63.0
    /tmp/pii-venv/bin/python tests/pii_eval/generate.py
"""

import json
import os
import random

from faker import Faker

HERE = os.path.dirname(os.path.abspath(__file__))

CLINICAL = [
    "rhinoplasty", "Botox", "lip fillers", "a facelift", "Juvederm", "Restylane", "Sculptra",
    "blepharoplasty", "a tummy tuck", "liposuction", "Morpheus8", "a chemical peel",
    "microneedling", "Profhilo", "a brow lift", "Dysport", "Xeomin", "Allegra", "Zyrtec",
    "warfarin", "Accutane", "isotretinoin", "Ozempic", "Wegovy", "Mounjaro", "eczema",
    "rosacea", "asthma", "Hashimoto's", "Crohn's disease", "Bell's palsy", "Raynaud's",
    "Addison's disease", "Lyme disease", "Tylenol", "Advil", "Valium", "Xanax", "Lipitor",
]

# Ordinary capitalised words that open sentences or name places in the clinic's talk.
ORDINARY = [
    "Monday", "Tuesday", "Friday", "Saturday", "June", "April", "August", "May",
    "Christmas", "Easter", "London", "Manchester", "Harley Street clinic", "Dr. Visit",
]


class Builder:
    def __init__(self):
        self.parts = []
        self.spans = []
        self.at = 0

    def say(self, s):
        self.parts.append(s)
        self.at += len(s)
        return self

    def value(self, kind, s):
        self.spans.append([kind, self.at, self.at + len(s)])
        return self.say(s)

    def done(self):
        return {"text": "".join(self.parts), "spans": self.spans}


def grouped(digits, rng):
    style = rng.choice(["plain", "space", "dash"])
    if style == "plain":
        return digits
    sep = " " if style == "space" else "-"
    if len(digits) == 15:  # Amex 4-6-5
        return sep.join([digits[:4], digits[4:10], digits[10:]])
    return sep.join(digits[i:i + 4] for i in range(0, len(digits), 4))


def iban(fake, rng):
    raw = fake.iban()
    if rng.random() < 0.5:
        return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))
    return raw


def address(fake, rng, spoken):
    a = fake.address()
    if spoken:
        return a.replace("\n", ", ")
    return rng.choice([a, a.replace("\n", ", "), a.replace("\n", " ")])


def person(fake, rng):
    r = rng.random()
    if r < 0.55:
        return fake.name()
    if r < 0.7:
        return fake.first_name() + " " + fake.last_name()
    if r < 0.8:
        return rng.choice(["Mr", "Mrs", "Ms", "Dr", "Mr.", "Mrs.", "Ms.", "Dr."]) + " " + fake.last_name()
    if r < 0.9:
        return fake.first_name()
    return fake.first_name() + " " + rng.choice("ABCDEFGHJKLMNPRSTW") + ". " + fake.last_name()


def values(fake, us, rng, spoken):
    return {
        "person": person(fake, rng),
        "person2": fake.name(),
        "first": fake.first_name(),
        "email": rng.choice([fake.email, fake.free_email, fake.company_email])(),
        "phone": fake.phone_number(),
        "address": address(fake, rng, spoken),
        "card_number": grouped(fake.credit_card_number(), rng),
        "ssn": us.ssn(),
        "iban": iban(fake, rng),
        "ip_address": rng.choice([fake.ipv4_public, fake.ipv4_private, fake.ipv6, fake.ipv4])(),
        "clinical": rng.choice(CLINICAL),
        "ordinary": rng.choice(ORDINARY),
        "day": rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
    }


KINDS = {
    "person": "person", "person2": "person", "first": "person", "email": "email",
    "phone": "phone", "address": "address", "card_number": "card_number", "ssn": "ssn",
    "iban": "iban", "ip_address": "ip_address",
}

# Frames: text with {slots}. The development set's frames.
DEV_FRAMES = [
    # spoken
    "hi yeah my name is {person} and I'm calling about {clinical}",
    "Hello, this is {person}, I had {clinical} with you last year.",
    "um it's {person} here, can you call me back on {phone}?",
    "You can reach me at {phone} any time after {day}.",
    "my number's {phone}, that's the best one",
    "Sure, the address is {address}.",
    "I live at {address} so the clinic is close.",
    "It's for my wife, {person}, she wants {clinical}.",
    "Could {first} call me back? It's about {clinical}.",
    "Yes, {person} speaking.",
    "I was referred by {person2} for {clinical}.",
    "My email is {email} if that's easier.",
    "Can you send the forms to {email}?",
    "The card number is {card_number}, expiry next March.",
    "I'll pay with card {card_number}.",
    "My social is {ssn}.",
    "For insurance my SSN is {ssn}, I think.",
    "Please refund to IBAN {iban}.",
    "Bank details: {iban}, account in my name.",
    "I couldn't log in from {ip_address} yesterday.",
    "The portal blocked my IP {ip_address}.",
    "{person} here, I'm on {clinical} at the moment, is that a problem?",
    "Tell {first} that I'll be late on {day}.",
    "Is Dr. {first} available on {day}? I need to ask about {clinical}.",
    "Hi, I'm {person}, I live at {address} and my phone is {phone}.",
    "{clinical} sounds good. {ordinary} works for me.",
    "I'd like to book {clinical} for {day} please.",
    "Do you take patients who use {clinical}?",
    # typed: email and form
    "Dear team,\n\nPlease update my address to {address}.\n\nThanks,\n{person}",
    "Hi,\nI missed a call from {phone}. Was that you?\n{person}",
    "Name: {person}\nPhone: {phone}\nEmail: {email}",
    "Patient: {person}\nAddress: {address}\nDOB on file",
    "Contact {person} on {phone} or {email}.",
    "From: {email}\nSubject: appointment\n\nCan {person2} come with me?",
    "Billing: card {card_number}, IBAN {iban}.",
    "Login attempt from {ip_address} for {email}.",
    "Regards,\n{person}\n{phone}",
]

# The check set's frames: written separately, none shared with the development set.
CHECK_FRAMES = [
    "good morning it's {person} I wanted to ask about {clinical}",
    "Right so I'm {person} and I saw your advert for {clinical}.",
    "ring me on {phone} please, I'm at work till five",
    "best number for me is {phone}.",
    "Post it to {address} please.",
    "we moved, new place is {address}",
    "{person} is my daughter, she'd like a consultation for {clinical}.",
    "Ask {first} to give me a ring, I'm on {clinical}.",
    "Speaking, yes it's {person}.",
    "{person2} recommended you to me.",
    "You can email me at {email}.",
    "I never got the email, it should go to {email}",
    "take the deposit from {card_number} please",
    "Card ending... actually the full number is {card_number}.",
    "SSN {ssn}, date of birth is on the form.",
    "Do you need my social security number? It's {ssn}.",
    "Send the refund to {iban}, it's my savings account.",
    "IBAN: {iban}",
    "My router's address is {ip_address}, the booking page won't load.",
    "Error seen at {ip_address} when paying.",
    "Is {clinical} safe if I'm on {clinical}? I'm {person} by the way.",
    "I'll come on {day}, tell {first} please.",
    "Could Dr {first} do my {clinical}?",
    "This is {person}, {address}, {phone}.",
    "{ordinary} is fine for {clinical}.",
    "Any slots on {day} for {clinical}?",
    "Is {clinical} covered if I take {clinical}?",
    "Hello,\nMy new address is:\n{address}\nKind regards\n{person}",
    "To whom it may concern,\n{person} will collect my prescription.\nCall {phone} with questions.",
    "Full name: {person}\nMobile: {phone}\nHome address: {address}",
    "Client {person} ({email}) asked for a callback on {phone}.",
    "Sent from {email}\n\nHi, {person2} here, I want to cancel.",
    "Pay from IBAN {iban} or card {card_number}.",
    "IP {ip_address}, user {email}, failed twice.",
    "Thanks so much!\n-- {person}, {phone}",
]


# A third set's frames, written after the rules were done and scored once, never tuned on.
THIRD_FRAMES = [
    "Morning! {person} again, just confirming my slot on {day}.",
    "so basically my GP said to ring you, I'm {person}",
    "could you update the file, new mobile {phone}",
    "I'm moving next month, the new place is {address}, please note it.",
    "Put it under {person}, thanks.",
    "The booking was for {first}, not me.",
    "email's {email}, all lower case",
    "My card's {card_number}, can you take the deposit now?",
    "Here's my social: {ssn}",
    "Transfer it to {iban} please.",
    "The app keeps failing from {ip_address}.",
    "{person} booked {clinical} for next week, can she move it?",
    "Is {clinical} OK alongside {clinical}?",
    "We'd love {clinical} before the wedding in {ordinary}.",
    "Hi there,\nPlease can {person} have a call back on {phone}?\nMany thanks",
    "Surname? It's {person}.",
    "Ref: appointment for {person}\nTel: {phone}\nAddr: {address}",
    "Hiya, {first} here, got your text",
    "Please stop sending post to {address}.",
    "Forward the invoice to {email} and cc {person2}.",
    "Patient {person}, DOB on file, prefers texts to {phone}.",
    "{person2} will drive me home after {clinical}.",
]


def render(frame, vals, lower):
    b = Builder()
    rest = frame
    while "{" in rest:
        before, _, tail = rest.partition("{")
        slot, _, rest = tail.partition("}")
        b.say(before.lower() if lower else before)
        v = vals[slot]
        if lower and slot in ("person", "person2", "first"):
            v = v.lower()
        if slot in KINDS:
            b.value(KINDS[slot], v)
        else:
            b.say(v)
    b.say(rest.lower() if lower else rest)
    return b.done()


def seeded_fakers(locales, seed):
    """One seeded Faker per locale, and a US one for SSNs (a US identifier whatever the
    locale)."""
    fakers = {}
    for loc in locales:
        f = Faker(loc)
        f.seed_instance(seed + len(fakers))
        fakers[loc] = f
    us = Faker("en_US")
    us.seed_instance(seed - 1)
    return fakers, us


def build(frames, locales, seed, n, world=None):
    """`n` sentences in `frames` with values of `locales`; `world(fake, rng, spoken, vals)`
    changes the values before they are placed (the world sets' addresses and spoken
    numbers)."""
    rng = random.Random(seed)
    fakers, us = seeded_fakers(locales, seed)
    out = []
    for i in range(n):
        loc = locales[i % len(locales)]
        frame = frames[rng.randrange(len(frames))]
        spoken = "\n" not in frame
        vals = values(fakers[loc], us, rng, spoken)
        if world:
            world(fakers[loc], rng, spoken, vals)
        # Speech-to-text sometimes writes a whole turn in lower case.
        lower = spoken and rng.random() < 0.1
        out.append(render(frame, vals, lower))
    return out


def write(name, rows):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


# Every Latin-script locale Faker ships, except the five English ones the sets above use and
# the Philippine ones (no phone numbers), split in two: names, addresses and numbers of many countries for the world sets.
WORLD_LOCALES = [
    "am_ET", "ar_AE", "ar_BH", "ar_EG", "ar_JO", "az_AZ", "bs_BA", "cs_CZ", "da_DK", "de_AT",
    "de_CH", "de_DE", "de_LI", "de_LU", "el_CY", "en_BD", "en_IE", "en_IN", "en_KE", "en_MS",
    "en_NG", "en_PK", "en_TH", "es_AR", "es_CL", "es_CO", "es_ES", "es_MX", "es_VE",
    "et_EE", "fi_FI", "fr_BE", "fr_CA", "fr_CH", "fr_DZ", "fr_FR", "ga_IE", "ha_NG",
    "hr_HR", "hu_HU", "id_ID", "ig_NG", "is_IS", "it_CH", "it_IT", "lb_LU", "lt_LT", "lv_LV",
    "mt_MT", "nl_BE", "nl_NL", "no_NO", "pl_PL", "pt_BR", "pt_PT", "ro_RO", "sk_SK", "sl_SI",
    "sq_AL", "sr_BA", "sv_SE", "sw", "tr_TR", "tw_GH", "uz_UZ", "vi_VN", "yo_NG",
    "zu_ZA",
]

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def spoken_phone(number, rng):
    """A number as a caller says it and speech-to-text writes it: digit words, "oh" or "zero",
    "double"/"triple" for repeats, "plus" for +, groups as written."""
    words = []
    oh = rng.random() < 0.6
    if number.strip().startswith("+"):
        words.append("plus")
    groups = [g for g in "".join(c if c.isdigit() else " " for c in number).split()]
    for g in groups:
        i = 0
        while i < len(g):
            run = 1
            while i + run < len(g) and g[i + run] == g[i] and run < 3:
                run += 1
            word = "oh" if g[i] == "0" and oh else DIGIT_WORDS[int(g[i])]
            if run >= 2 and rng.random() < 0.7:
                words.append(("double " if run == 2 else "triple ") + word)
                i += run
            else:
                words.append(word)
                i += 1
    sep = rng.choice([" ", " ", ", "])
    return sep.join(words)


def world_address(fake, rng, spoken):
    a = address(fake, rng, spoken)
    if rng.random() < 0.3:
        try:
            country = fake.current_country()
        except Exception:
            country = None
        if country:
            a += (", " if spoken or rng.random() < 0.5 else "\n") + country
    return a


def world_values(fake, rng, spoken, vals):
    """An address that may end in its country, and a number said as words three spoken
    turns in ten."""
    vals["address"] = world_address(fake, rng, spoken)
    if spoken and rng.random() < 0.3:
        vals["phone"] = spoken_phone(vals["phone"], rng)


# The final set's frames, written after the name model was done (speaker labels, reported
# speech, lists of people, kinship words, letters and forms): scored once, at the end.
FINAL_FRAMES = [
    "{person}: hi, is that the clinic?\nReceptionist: yes, how can I help?",
    "Receptionist: who am I speaking with?\nCaller: it's {person}, I booked {clinical}.",
    "My husband {first} and I both want {clinical}.",
    "She said {person2} recommended you for {clinical}.",
    "Can you book me, {person} and {person2} for the same afternoon?",
    "my daughter {first} has a cold, can we move her slot to {day}?",
    "According to {person2}, you do {clinical} on {day}s.",
    "Attendees: {person}, {person2}, {first}",
    "Dear Doctor,\n\nI was seen by your colleague last week.\n\nKind regards,\n{person}",
    "Next of kin: {person2}, mobile {phone}",
    "Full name: {person}\nHome address: {address}\nE-mail: {email}",
    "I'm calling on behalf of my mother, {person}.",
    "Tell {first} I'll be ten minutes late.",
    "we spoke to {person} yesterday and she said to call back",
    "Billing address is {address}.",
    "You can reach {first} on {phone} after six.",
    "{person} ({email}) asked about {clinical}.",
    "Emergency contact: {person2} / {phone}",
    "The parcel should go to {address}, attention {person}.",
    "Hi, {person} speaking, my card ending {card_number} was charged twice.",
    "Our nanny {first} will bring the kids, is {day} fine?",
    "Is {clinical} safe if I'm on {clinical}?",
    "Please update: new address {address}, new number {phone}.",
    "From: {person} <{email}>\nTo: bookings\nSubject: {clinical}",
]


if __name__ == "__main__":
    write("dev.jsonl", build(DEV_FRAMES, ["en_US", "en_GB", "en_CA", "en_AU"], 1501, 3000))
    write("check.jsonl", build(CHECK_FRAMES, ["en_US", "en_GB", "en_NZ", "en_CA"], 7919, 2000))
    write("third.jsonl", build(THIRD_FRAMES, ["en_US", "en_GB", "en_CA"], 4243, 1000))
    # The world sets: the same frames as dev and check, values of every other Latin-script
    # locale (the two halves disjoint), an address ending in its country now and then, and
    # a number spoken as words in three spoken turns in ten.
    write("world_dev.jsonl", build(DEV_FRAMES, WORLD_LOCALES[0::2], 2203, 3000, world_values))
    write("world_check.jsonl", build(CHECK_FRAMES, WORLD_LOCALES[1::2], 3307, 2000, world_values))
    # The final set: frames of its own, values of every world locale, another seed.
    write("world_final.jsonl", build(FINAL_FRAMES, WORLD_LOCALES, 9001, 1500, world_values))
