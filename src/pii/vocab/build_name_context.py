#!/usr/bin/env python3
"""Writes name_context.tsv: the weights of the context model (`name_context.rs`), a logistic
regression that says whether a run of capitalised words the name rules turned down for want of
context is a person's name after all.

Input: the candidates the rules turn down on the development sets, with their features, as
`examples/name_context_dump.rs` prints them; a candidate is a name when a person span of the
set overlaps it with IoU >= 0.5 (as tests/pii_eval scores). Only development sets train it:
others_dev (frames from presidio-evaluator's odd templates), world_dev and dev (ours); `prose:`
lines are only scored (PROSE_PEOPLE below). The check sets (others_check, world_check) are never
read here.

Before writing, it fits the model on each development set's complement and reports what each
threshold would take on the set left out, so the threshold (`TAKE_AT`) is chosen on frames the
fit did not see. Plain Python, no packages: stochastic gradient descent with AdaGrad and an L2
penalty.

    python3 benches/kb_sets.py /tmp/kbsets     # the Perl FAQ and manual pages, from Debian
    cargo run --release --example name_context_dump -- others_dev world_dev dev \
        prose:/tmp/kbsets/perl-faq/corpus.jsonl prose:/tmp/kbsets/perl-docs/corpus.jsonl > /tmp/ctx.jsonl
    python3 src/pii/vocab/build_name_context.py /tmp/ctx.jsonl
"""

import json
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SETS = os.path.join(HERE, "..", "..", "..", "tests", "pii_eval")
DEVELOPMENT = ("others_dev", "world_dev", "dev")
EPOCHS = 40
RATE = 0.1
L2 = 1e-4
THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8)
# Prose others wrote (`prose:` lines of the dump: the Perl FAQ and manual pages, through
# benches/kb_sets.py), scored with the final model and never trained on: what the model takes
# in text that is not made of templates. Its candidates are not names, but for the people it
# names, read off the candidates by hand (contributors, authors, the people of its examples).
# A candidate is a name when its words are all words of one of these. (Trained on as well, it
# made the model worse on others_dev left out: 69 names / 31 not at 0.7, against 100 / 17.)
PROSE_PEOPLE = """Larry Wall; Jarkko Hietaniemi; Dagfinn Ilmari Mannsåker; Merijn Brand; Florian Ragwitz;
Lukas Mai; Zefram; Slaven Rezic; Anno Siegel; Donald Knuth; Fischer-Krause; Placido P. Octopus;
Placido Polyp; Zsbán Ambrus; Ævar Arnfjörð Bjarmason; Reini Urban; Etheridge; Zak B. Elep;
Sergey Aleynikov; Nicolas; Sanden; Maischein; Gisle Aas; Johan Vromans; Salzenberg; Wil; Sanchez;
Gunnar Hjalmarsson; Saruman; Koenig; Ilya; Samuel; Chaim Frenkel; Beren; McDonald; Zawinski;
Goldberg; Rainer Tammer; Steffen Mueller; Schroeder; Hiroo Hayashi; Choroba; Herman; Anderson;
Lightsey; Keenan; Petr Písař; Baecker; Tomasz Konojacki; Sevan Janiyan; Atsushi Sugawara;
Michiel Beijen; Sergey Poznyakoff; Iain Truskett; Tomoyuki; Linchi Shea; Goyvaerts;
Juerd Waalboer; Sizhe Zhao; Weinhold; Gurusamy; Tatsuhiko Miyagawa; Stevan; Schwern; Richard;
Kettenis; Hannu Napari; Miyamoto Musashi; Adam; Clyde; Chris; Andy; Fred; Orton; Mitchell;
Williamson; Paltzis; Samy; Julian; Xho; Poe; Guttman; Rossler; Fibonacci; Randal Schwartz;
Tom Christiansen; brian d foy; Nathan Torkington"""


def people(name):
    """Each line's person spans (character offsets) in the set `name`."""
    out = []
    with open(os.path.join(SETS, name + ".jsonl"), encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            out.append([(s, e) for kind, s, e in item["spans"] if kind == "person"])
    return out


def label(spans, s, e):
    def iou(a, b):
        return max(0, min(e, b) - max(s, a)) / (max(e, b) - min(s, a))

    return int(any(iou(a, b) >= 0.5 for a, b in spans))


def prose_label(text):
    """Whether a candidate from prose names one of `PROSE_PEOPLE`."""
    words = set(text.split())
    return int(any(words <= set(p.split()) for p in PEOPLE_OF_PROSE))


PEOPLE_OF_PROSE = [p.strip() for p in PROSE_PEOPLE.replace("\n", " ").split(";")]
# A prose candidate met more often than this counts this often ("Perl" is met 2,736 times).
PROSE_REPEATS = 3


def fit(rows):
    weights, squares = {}, {}
    bias, bias_square = 0.0, 1e-8
    order = list(range(len(rows)))
    rng = random.Random(7)
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for i in order:
            features, y = rows[i]
            z = bias + sum(weights.get(k, 0.0) * v for k, v in features.items())
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = p - y
            for k, v in features.items():
                grad = g * v + L2 * weights.get(k, 0.0)
                squares[k] = squares.get(k, 1e-8) + grad * grad
                weights[k] = weights.get(k, 0.0) - RATE * grad / math.sqrt(squares[k])
            bias_square += g * g
            bias -= RATE * g / math.sqrt(bias_square)
    return bias, weights


def probability(model, features):
    bias, weights = model
    z = bias + sum(weights.get(k, 0.0) * v for k, v in features.items())
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: build_name_context.py DUMP.jsonl")
    gold = {name: people(name) for name in DEVELOPMENT}
    rows = {name: [] for name in DEVELOPMENT}
    rows["prose"] = []
    seen = {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            c = json.loads(line)
            if c["set"].startswith("prose:"):
                seen[c["text"]] = seen.get(c["text"], 0) + 1
                if seen[c["text"]] <= PROSE_REPEATS:
                    rows["prose"].append((c["features"], prose_label(c["text"])))
                continue
            if c["set"] not in gold:
                sys.exit(f"{c['set']}: only development sets may train the model")
            y = label(gold[c["set"]][c["line"]], c["start"], c["end"])
            rows[c["set"]].append((c["features"], y))
    prose = rows.pop("prose")
    for name in rows:
        held = rows[name]
        model = fit([r for other in rows if other != name for r in rows[other]])
        scored = [(probability(model, f), y) for f, y in held]
        names = sum(y for _, y in held)
        report = ", ".join(
            f"{t}: {sum(y for p, y in scored if p >= t)} names / "
            f"{sum(1 - y for p, y in scored if p >= t)} not"
            for t in THRESHOLDS
        )
        print(f"{name} left out ({len(held)} turned down, {names} names): {report}")
    bias, weights = fit([r for name in rows for r in rows[name]])
    if prose:
        scored = [(probability((bias, weights), f), y) for f, y in prose]
        report = ", ".join(
            f"{t}: {sum(y for p, y in scored if p >= t)} names / "
            f"{sum(1 - y for p, y in scored if p >= t)} not"
            for t in THRESHOLDS
        )
        print(f"prose, never trained on ({len(prose)} turned down): {report}")
    out = os.path.join(HERE, "name_context.tsv")
    with open(out, "w", encoding="utf-8") as f:
        f.write(
            "# written by build_name_context.py from "
            + ", ".join(f"{n} ({len(rows[n])})" for n in rows)
            + "; feature\tweight\n"
        )
        f.write(f"bias\t{bias:.4f}\n")
        for k in sorted(weights):
            if abs(weights[k]) >= 0.005:
                f.write(f"{k}\t{weights[k]:.4f}\n")
    print(f"wrote {out}: {len(weights)} features")


if __name__ == "__main__":
    main()
