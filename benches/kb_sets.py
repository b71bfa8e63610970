#!/usr/bin/env python3
"""Builds the knowledge-base evaluation sets from documentation other people wrote.

Sources are Debian packages fetched with `apt-get download` (nothing is installed):
  perl-doc        perlfaq1-9 (Perl's FAQ; same terms as Perl: Artistic or GPL)
  python3.11-doc  the Python FAQ and the library reference (PSF licence)
  debian-faq      the Debian FAQ (GPL-2+)
  git-doc         gitfaq (GPL-2)

Sets written (each a directory with corpus.jsonl, queries.jsonl, qrels.tsv):
  perl-faq        FAQ headings asked against their answers (answers titled by chapter)
  python-faq      the same for Python's FAQ
  debian-faq      the same for Debian's FAQ
  git-faq         the same for gitfaq
  perl-docs       free-form: perlfaq questions against Perl's manual pages (titled by their
                  NAME line), relevant = the pages the FAQ answer links to
  python-library  free-form: Python FAQ questions against the library reference's pages
                  (titled by module), relevant = the modules the FAQ answer refers to

Usage: python3 benches/kb_sets.py OUT_DIR [--debs DIR]
       python3 benches/kb_sets.py - --fixtures tests/fixtures/kb_eval   (the suite's small sets)
"""

import glob
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile

# A manual page is cut to its opening (name, synopsis, description): the length of a clinic's
# longer articles, and an import of a few minutes rather than an hour on two cores.
PAGE_CHARS = 5_000

PACKAGES = ["perl-doc", "python3.11-doc", "debian-faq", "git-doc"]


def fetch(debs):
    os.makedirs(debs, exist_ok=True)
    have = glob.glob(os.path.join(debs, "*.deb"))
    missing = [p for p in PACKAGES if not any(os.path.basename(h).startswith(p + "_") for h in have)]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    root = os.path.join(debs, "x")
    if not os.path.isdir(root):
        for deb in glob.glob(os.path.join(debs, "*.deb")):
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    return root


def squash(text):
    lines = [l.rstrip() for l in text.splitlines()]
    out, blank = [], False
    for l in lines:
        if not l.strip():
            if not blank and out:
                out.append("")
            blank = True
        else:
            out.append(l)
            blank = False
    return "\n".join(out).strip()


# ---- reStructuredText (Python docs) ------------------------------------------------------

ROLE = re.compile(r":[a-z:]+:`~?!?([^`<]*?)(?:\s*<([^>]*)>)?`")
LINK = re.compile(r"`([^`<]+?)\s*<[^>]*>`_+")


def rst_plain(text):
    text = ROLE.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = LINK.sub(lambda m: m.group(1), text)
    text = re.sub(r"``([^`]*)``", r"\1", text)
    text = re.sub(r"`([^`]*)`_?", r"\1", text)
    text = re.sub(r"^\s*\.\. [a-z-]+::.*$", "", text, flags=re.M)
    text = re.sub(r"^\s*:[a-z-]+:.*$", "", text, flags=re.M)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    return squash(text)


def rst_sections(text):
    """(level char, title, body) for each underlined heading."""
    lines = text.splitlines()
    heads = []
    for i in range(1, len(lines)):
        u = lines[i]
        if u and len(set(u)) == 1 and u[0] in "=-~^*+#" and len(u) >= 3 and lines[i - 1].strip():
            if len(u) >= len(lines[i - 1].rstrip()) - 2:
                over = i >= 2 and lines[i - 2] == u
                heads.append((i - 1 - (1 if over else 0), i, u[0] + ("o" if over else ""), lines[i - 1].strip()))
    out = []
    for n, (start, underline, level, title) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        out.append((level, title, "\n".join(lines[underline + 1:end])))
    return out


def python_faq(root):
    docs, queries, qrels, refs = [], [], [], {}
    for path in sorted(glob.glob(os.path.join(root, "usr/share/doc/python3.11/html/_sources/faq/*.rst.txt"))):
        name = os.path.basename(path).split(".")[0]
        if name == "index":
            continue
        text = open(path, encoding="utf-8").read()
        sections = rst_sections(text)
        chapter = next((t for l, t, _ in sections if l.endswith("o")), name)
        group = chapter
        for level, title, body in sections:
            if level.endswith("o"):
                continue
            if not title.endswith("?"):
                group = f"{chapter}: {title}"
                continue
            answer = rst_plain(body)
            if len(answer) < 40:
                continue
            qid = f"py-{len(queries) + 1}"
            did = f"pyfaq-{len(docs) + 1}"
            docs.append({"id": did, "title": group, "body": answer})
            queries.append({"id": qid, "text": rst_plain(title)})
            qrels.append((qid, did, 1))
            refs[qid] = set(re.findall(r":(?:mod|func|class|meth|data|exc|attr):`~?([A-Za-z_][\w.]*)", body))
    return docs, queries, qrels, refs


def python_library(root, faq):
    _, queries, _, refs = faq
    libdir = os.path.join(root, "usr/share/doc/python3.11/html/_sources/library")
    docs, by_module = [], {}
    for path in sorted(glob.glob(os.path.join(libdir, "*.rst.txt"))):
        text = open(path, encoding="utf-8").read()
        m = re.search(r"^\.\. module:: ([\w.]+)", text, flags=re.M)
        if not m:
            continue
        module = m.group(1)
        sections = rst_sections(text)
        title = sections[0][1] if sections else module
        title = rst_plain(title).replace(" --- ", " — ")
        body = rst_plain(text.split("\n", 3)[-1])[:PAGE_CHARS]
        did = f"pylib-{module}"
        docs.append({"id": did, "title": title, "body": body})
        by_module[module] = did

    def page(name):
        # The longest dotted prefix that is a documented module ("os.path.join" → os.path).
        parts = name.split(".")
        for n in range(len(parts), 0, -1):
            if ".".join(parts[:n]) in by_module:
                return by_module[".".join(parts[:n])]
        return None

    kept, qrels = [], []
    for q in queries:
        relevant = sorted({page(m) for m in refs.get(q["id"], ())} - {None})
        if relevant:
            kept.append(q)
            qrels.extend((q["id"], d, 1) for d in relevant)
    return docs, kept, qrels


# ---- POD (perlfaq) -----------------------------------------------------------------------

POD_CODE = re.compile(r"[CILBFSX]<<+\s(.*?)\s>>+|[CILBFSX]<([^<>]*)>")
ESCAPES = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/", "quot": '"', "amp": "&"}


def pod_plain(text):
    text = re.sub(r"E<(\w+)>", lambda m: ESCAPES.get(m.group(1), ""), text)
    for _ in range(3):
        text = POD_CODE.sub(lambda m: (m.group(1) or m.group(2) or "").split("|")[0], text)
    text = re.sub(r"^=(over|back|item|for|begin|end|cut|pod)\b.*$", "", text, flags=re.M)
    return squash(text)


def perl_faq(root):
    docs, queries, qrels = [], [], []
    for path in sorted(glob.glob(os.path.join(root, "usr/share/perl/*/pod/perlfaq[1-9].pod"))):
        text = open(path, encoding="utf-8", errors="replace").read()
        name = re.search(r"=head1 NAME\s+(.*)", text).group(1).strip()
        chapter = name.split(" - ", 1)[-1]
        parts = re.split(r"^(=head[12] .*)$", text, flags=re.M)
        group = chapter
        for i in range(1, len(parts), 2):
            head, body = parts[i], parts[i + 1]
            level, title = head[5], head[7:].strip()
            if level == "1":
                section = pod_plain(title)
                group = f"Perl FAQ: {chapter}" + ("" if section == "DESCRIPTION" else f" — {section}")
                continue
            answer = pod_plain(body)
            if len(answer) < 40:
                continue
            qid, did = f"pl-{len(queries) + 1}", f"plfaq-{len(docs) + 1}"
            docs.append({"id": did, "title": group, "body": answer[:150_000]})
            queries.append({"id": qid, "text": pod_plain(title)})
            qrels.append((qid, did, 1))
    return docs, queries, qrels


def perl_docs(root):
    """perlfaq questions against Perl's manual pages, relevant = the pages the answer links."""
    poddir = glob.glob(os.path.join(root, "usr/share/perl/*/pod"))[0]
    docs, pages = [], {}
    for path in sorted(glob.glob(os.path.join(poddir, "perl*.pod"))):
        page = os.path.basename(path)[:-4]
        if page.startswith("perlfaq") or page in ("perl", "perltoc"):
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        m = re.search(r"=head1 NAME\s+(.*)", text)
        title = pod_plain(m.group(1)).strip() if m else page
        docs.append({"id": f"pod-{page}", "title": title, "body": pod_plain(text.split("=head1 NAME", 1)[-1].split("\n", 2)[-1])[:PAGE_CHARS]})
        pages[page] = f"pod-{page}"
    queries, qrels = [], []
    for path in sorted(glob.glob(os.path.join(poddir, "perlfaq[1-9].pod"))):
        text = open(path, encoding="utf-8", errors="replace").read()
        parts = re.split(r"^=head2 (.*)$", text, flags=re.M)
        for i in range(1, len(parts), 2):
            links = re.findall(r"L<(?:[^|>]*\|)?(perl\w+)", parts[i + 1])
            relevant = sorted({pages[l] for l in links if l in pages})
            if relevant:
                qid = f"pld-{len(queries) + 1}"
                queries.append({"id": qid, "text": pod_plain(parts[i].strip())})
                qrels.extend((qid, d, 1) for d in relevant)
    return docs, queries, qrels


# ---- Debian FAQ (plain text) and gitfaq (AsciiDoc) ---------------------------------------

def debian_faq(root):
    path = glob.glob(os.path.join(root, "usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"))[0]
    text = gzip.open(path, "rt", encoding="utf-8", errors="replace").read().replace("\xa0", " ")
    # After the table of contents: "Chapter N. Title" lines, then "N.M. Question" at column 0
    # (wrapping onto a second unindented line), each followed by its indented answer.
    lines = text[text.index("\nChapter 1.") + 1:].splitlines()
    docs, queries, qrels = [], [], []
    chapter, question, body = "Debian FAQ", None, []

    def flush():
        answer = squash("\n".join(body))
        if question and question.endswith("?") and len(answer) >= 40:
            qid, did = f"deb-{len(queries) + 1}", f"debfaq-{len(docs) + 1}"
            docs.append({"id": did, "title": chapter, "body": answer})
            queries.append({"id": qid, "text": question})
            qrels.append((qid, did, 1))

    i = 0
    while i < len(lines):
        line = lines[i]
        c = re.match(r"^Chapter \d+\. (.*)$", line)
        q = re.match(r"^\d+\.\d+\.(?:\d+\.)? (.*)$", line)
        if c or q:
            flush()
            body = []
            if c:
                chapter, question = f"Debian FAQ: {c.group(1).strip()}", None
            else:
                question = q.group(1).strip()
                if i + 1 < len(lines) and lines[i + 1].strip() and not lines[i + 1].startswith(" "):
                    question += " " + lines[i + 1].strip()
                    i += 1
        else:
            body.append(line)
        i += 1
    flush()
    return docs, queries, qrels


def git_faq(root):
    text = open(os.path.join(root, "usr/share/doc/git-doc/gitfaq.txt"), encoding="utf-8").read()
    docs, queries, qrels = [], [], []
    chapter = "Git FAQ"
    blocks = re.split(r"^\[\[[\w-]+\]\]\n", text, flags=re.M)
    for block in blocks[1:]:
        q, _, rest = block.partition("::\n")
        # A section heading ("Configuration\n-------------") may end the previous block.
        m = re.search(r"\n([A-Z][^\n]*)\n-{3,}\n", rest)
        body = rest[: m.start()] if m else rest
        body = re.sub(r"linkgit:([\w-]+)\[\d\]", r"\1", body.replace("\n+\n", "\n\n"))
        qid, did = f"git-{len(queries) + 1}", f"gitfaq-{len(docs) + 1}"
        docs.append({"id": did, "title": chapter, "body": squash(body)})
        queries.append({"id": qid, "text": q.strip().replace("`", "")})
        qrels.append((qid, did, 1))
        if m:
            chapter = f"Git FAQ: {m.group(1).strip()}"
    return docs, queries, qrels


def write(out, name, docs, queries, qrels):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    with open(os.path.join(d, "queries.jsonl"), "w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    with open(os.path.join(d, "qrels.tsv"), "w", encoding="utf-8") as f:
        for q, doc, grade in qrels:
            f.write(f"{q}\t{doc}\t{grade}\n")
    print(f"{name}: {len(docs)} documents, {len(queries)} queries, {len(qrels)} judgements")


def fixtures(out, faq, library):
    """The small sets the test suite scores (tests/fixtures/kb_eval/): Python's General FAQ,
    and the library questions against their judged pages plus half as many other pages, each
    cut to FIXTURE_CHARS."""
    docs, queries, qrels, _ = faq
    general = [d for d in docs if d["title"].startswith("General Python FAQ")]
    keep = {d["id"] for d in general}
    write(out, "python-faq-general", general,
          [q for q, (qid, did, _) in zip(queries, qrels) if did in keep],
          [r for r in qrels if r[1] in keep])
    docs, queries, qrels = library
    judged = sorted({d for _, d, _ in qrels})
    others = [d["id"] for d in docs if d["id"] not in judged][:: max(1, (len(docs) - len(judged)) // len(judged))]
    keep = set(judged) | set(others[: len(judged) // 2])
    small = [dict(d, body=d["body"][:FIXTURE_CHARS]) for d in docs if d["id"] in keep]
    write(out, "python-library-small", small, queries, qrels)


FIXTURE_CHARS = 1_000


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    debs = sys.argv[sys.argv.index("--debs") + 1] if "--debs" in sys.argv else os.path.join(tempfile.gettempdir(), "voxanne-kb-debs")
    root = fetch(debs)
    faq = python_faq(root)
    library = python_library(root, faq)
    if "--fixtures" in sys.argv:
        fixtures(sys.argv[sys.argv.index("--fixtures") + 1], faq, library)
        return
    write(out, "python-faq", *faq[:3])
    write(out, "python-library", *library)
    write(out, "perl-faq", *perl_faq(root))
    write(out, "perl-docs", *perl_docs(root))
    write(out, "debian-faq", *debian_faq(root))
    write(out, "git-faq", *git_faq(root))


if __name__ == "__main__":
    main()
