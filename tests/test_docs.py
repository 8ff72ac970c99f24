"""The documentation inside the repository stays true to it: nothing points
outside the repository, every citation of docs/science.md or
docs/architecture.md names a section that exists, and docs/architecture.md
has a paragraph for every source file."""
import os
import re
import subprocess

from conftest import ROOT


def tracked_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout: walk the tree
        files = []
        for d, dirs, names in os.walk(ROOT):
            dirs[:] = [x for x in dirs if x not in (".git", "build", "runs")]
            files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names]
        return files
    return out.stdout.split()


def texts():
    for rel in tracked_files():
        path = os.path.join(ROOT, rel)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                yield rel, f.read()
        except UnicodeDecodeError:  # figures and other binaries
            continue


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def test_nothing_points_outside_the_repository():
    # Spelled in pieces so that this file does not match itself.
    outside = ["../" + "shared", "SPEC" + ".md", "DESIGN" + ".md", "SPEC" + " §"]
    found = [(rel, w) for rel, text in texts() for w in outside if w in text]
    assert found == []


def test_citations_name_existing_sections():
    science = read("docs/science.md")
    numbers = set(re.findall(r"^#+ (\d+(?:\.\d+)?) ", science, re.M))
    arch = read("docs/architecture.md")
    titles = {t.strip().strip("`") for t in re.findall(r"^## (.+)$", arch, re.M)}
    assert {"1.9", "2.2", "3"} <= numbers and {"Groups", "Determinism"} <= titles
    bad = []
    n_cited = 0
    for rel, text in texts():
        for sec in re.findall(r"docs/science\.md §(\d+(?:\.\d+)?)", text):
            n_cited += 1
            if sec.rstrip(".") not in numbers:
                bad.append((rel, "science §" + sec))
        for title in re.findall(r'docs/architecture\.md[\s/*#]*"([A-Z][^"\n]*)"', text):
            n_cited += 1
            if title not in titles:
                bad.append((rel, "architecture " + title))
    assert n_cited > 50  # the code does cite them
    assert bad == []


def test_architecture_has_a_paragraph_per_source_file():
    arch = read("docs/architecture.md")
    sources = [rel for rel in tracked_files()
               if (rel.startswith("src/") and rel.endswith(".c")) or rel.startswith("kernels/")]
    assert len(sources) > 20
    missing = [rel for rel in sources if "**`" + rel + "`**" not in arch]
    assert missing == []
