"The repository keeps its promises: README commands are what CI runs, notebooks read like papers, the sample corpus is complete."
import json, re, unicodedata
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
LANGS = ["es", "ca", "eu", "gl"]


def _readme_commands(text):
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [l.strip() for b in blocks for l in b.splitlines() if l.strip()]


def test_readme_commands_are_what_ci_runs():
    cmds = _readme_commands((ROOT / "README.md").read_text())
    assert cmds[:4] == ["pip install torch==2.13.0", 'pip install -e ".[dev]"', "spanish-llm speedrun", "nbdev-test && pytest"]
    ci = [l.strip() for l in (ROOT / ".ci/run").read_text().splitlines()]
    for c in cmds: assert c in ci, f"README command not run verbatim by .ci/run: {c}"


def test_readme_matches_its_notebook_source():
    nb = json.loads((ROOT / "nbs/index.ipynb").read_text())
    src = "".join("".join(c["source"]) for c in nb["cells"])
    assert _readme_commands(src) == _readme_commands((ROOT / "README.md").read_text())


def test_layout():
    for p in ["pyproject.toml", "README.md", "CONTRIBUTING.md", "LICENSE", "CITATION.cff", ".pre-commit-config.yaml",
              "nbs/index.ipynb", "nbs/_quarto.yml", "nbs/nbdev.yml", ".github/workflows/test.yaml",
              ".github/workflows/deploy.yaml", "experiments", "papers", "tests", "benchmarks"]:
        assert (ROOT / p).exists(), p
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    toml = (ROOT / "pyproject.toml").read_text()
    assert "[tool.nbdev]" in toml and 'spanish-llm = "spanish_llm.cli:main"' in toml


@pytest.mark.parametrize("nb", sorted((ROOT / "nbs").rglob("*.ipynb")), ids=lambda p: str(p.relative_to(ROOT / "nbs")))
def test_notebooks_read_like_papers(nb):
    "Title in an H1, a one-line summary in a blockquote, prose before the first code cell."
    if ".ipynb_checkpoints" in nb.parts: pytest.skip("checkpoint")
    cells = json.loads(nb.read_text())["cells"]
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# "), f"{nb.name}: must open with an H1 title"
    assert "\n> " in first, f"{nb.name}: the title cell needs a one-line '> summary'"
    assert any(c["cell_type"] == "markdown" for c in cells[1:3]), f"{nb.name}: prose before code"


def test_sample_corpus_is_complete():
    d = ROOT / "spanish_llm/sample"
    for lang in LANGS:
        b = (d / "corpus" / f"{lang}.txt").read_bytes()
        assert len(b) >= 50_000, f"{lang}: {len(b)} bytes < 50 KB"
        t = b.decode("utf-8")
        assert unicodedata.is_normalized("NFC", t)
        docs = [p for p in t.split("\n\n") if p.strip()]
        assert len(docs) >= 40 and all("\n" not in p.strip() for p in docs)
    assert (d / "corpus/en.txt").stat().st_size > 5_000
    par = {l: (d / "parallel" / f"parallel.{l}.txt").read_text(encoding="utf-8").splitlines() for l in LANGS + ["en"]}
    n = {len(v) for v in par.values()}
    assert len(n) == 1 and n.pop() >= 100, {k: len(v) for k, v in par.items()}
    for l, lines in par.items(): assert all(s.strip() for s in lines), l


def test_docs_sidebar_lists_every_notebook():
    "nbs/sidebar.yml (custom_sidebar) names every notebook of the docs, and only notebooks that exist."
    import yaml
    side = yaml.safe_load((ROOT / "nbs/sidebar.yml").read_text())["website"]["sidebar"]["contents"]
    def walk(c):
        for x in c: yield from ([x] if isinstance(x, str) else walk(x["contents"]))
    listed = list(walk(side))
    nbs = {str(p.relative_to(ROOT / "nbs")) for p in (ROOT / "nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts}
    assert not [i for i in listed if not (ROOT / "nbs" / i).exists()], "sidebar names missing files"
    assert nbs <= set(listed), f"notebooks missing from nbs/sidebar.yml: {sorted(nbs - set(listed))}"
    assert "metadata-files: [nbdev.yml, sidebar.yml]" in (ROOT / "nbs/_quarto.yml").read_text()
