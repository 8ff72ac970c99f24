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


def code():
    """(rel, text) of every source file the binary is built from."""
    return [(rel, read(rel)) for rel in tracked_files()
            if rel.startswith(("src/", "kernels/", "include/")) and rel.endswith((".c", ".h", ".cu", ".cuh"))]


def user_docs():
    return read("README.md") + read("docs/architecture.md") + read("docs/sae.md")


def test_every_environment_variable_the_code_reads_is_documented():
    names = {n for _, text in code() for n in re.findall(r'getenv\("([A-Z0-9_]+)"\)', text)} - {"PATH"}
    assert {"MONOLAB_KERNELS", "MONOLAB_MEM_GB", "MONOLAB_SIDE_BY_SIDE"} <= names
    docs = user_docs()
    assert sorted(n for n in names if not re.search(r"\b" + n + r"\b", docs)) == []


def test_every_kernel_variant_is_documented():
    src = read("kernels/backend_cuda.cu")
    parser = src[src.index('getenv("MONOLAB_KERNELS")'):]
    parser = parser[:parser.index("return v;\n}")]
    variants = set(re.findall(r'!strcmp\(t, "([a-z]+)"\)', parser))
    assert {"gather", "streams", "lt"} <= variants
    arch = read("docs/architecture.md")
    listed = arch[arch.index("`MONOLAB_KERNELS`"):][:400]
    assert sorted(v for v in variants | {"ref", "fast"} if "`" + v + "`" not in listed) == []


def test_every_output_file_is_listed():
    """Each file name a command builds into a folder ("%s/neurons.csv") is named in the docs."""
    names = {n for rel, text in code() if rel.startswith("src/")
             for n in re.findall(r'"%s/(?:[a-z_]+/)*([a-z_]+\.(?:csv|json|safetensors|txt|yaml|sbatch|js))"', text)}
    assert {"neurons.csv", "clusters.csv", "similar.safetensors", "embed_settings.txt", "saes.csv"} <= names
    docs = user_docs()
    assert sorted(n for n in names if n not in docs) == []
