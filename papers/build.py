"""Build a paper: run the experiment notebooks it embeds, and put the executed notebooks where Quarto finds them.

    python papers/build.py tokenizer-fertility            # run the experiments with the paper's parameters
    python papers/build.py --check tokenizer-fertility    # only check that every embed points at a real cell
    python papers/build.py --fast tokenizer-fertility     # the notebooks' own (fast) default parameters

Each notebook runs through `spanish_llm.experiments.run_experiment`, so every figure of the paper comes from a run
folder with a manifest (commit, versions, data fingerprints, hardware).
"""
from __future__ import annotations
import argparse, json, os, re, shutil, sys
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT / "papers"
EMBED = re.compile(r"\{\{<\s*embed\s+([^#\s>]+)#([\w-]+)")
LABEL = re.compile(r"^#\|\s*label:\s*([\w-]+)\s*$", re.M)


def paper_dir(name: str) -> Path:
    d = PAPERS / name
    if not (d / "_quarto.yml").exists():
        known = sorted(p.parent.name for p in PAPERS.glob("*/_quarto.yml"))
        raise SystemExit(f"error: no paper {name!r} in papers/ (expected papers/{name}/_quarto.yml); papers: {', '.join(known)}")
    return d


def spec(d: Path) -> list[dict]:
    "The notebooks a paper embeds, from its `paper.yaml`."
    return yaml.safe_load((d / "paper.yaml").read_text())["notebooks"]


def embeds(d: Path) -> list[tuple[str, str]]:
    "Every (notebook, label) embedded by the paper's .qmd files."
    return [m.groups() for q in sorted(d.glob("*.qmd")) for m in EMBED.finditer(q.read_text())]


def labels(nb: Path) -> set[str]:
    "The Quarto cell labels (`#| label: ...`) a notebook defines."
    cells = json.loads(nb.read_text())["cells"]
    return {l for c in cells if c["cell_type"] == "code" for l in LABEL.findall("".join(c["source"]))}


def check(name: str) -> list[str]:
    "Problems with a paper's embeds: unknown notebooks, labels their source notebook does not define."
    d = paper_dir(name)
    sources = {e["as"]: ROOT / e["notebook"] for e in spec(d)}
    problems = []
    for nb, label in embeds(d):
        if nb not in sources: problems.append(f"{name}: embeds {nb}, which paper.yaml does not list"); continue
        if not sources[nb].exists(): problems.append(f"{name}: {sources[nb].relative_to(ROOT)} does not exist"); continue
        if label not in labels(sources[nb]): problems.append(f"{name}: {sources[nb].relative_to(ROOT)} has no cell labelled {label}")
    return problems


def build(name: str, fast: bool = False, runs_dir: str | None = None, into: Path | None = None) -> list[Path]:
    "Run the paper's notebooks through the experiment runner; copy each executed notebook into the paper (or `into`)."
    from spanish_llm.experiments import run_experiment
    d = paper_dir(name)
    if problems := check(name): raise SystemExit("error: " + "; ".join(problems))
    out = []
    for e in spec(d):
        run = Path(run_experiment(ROOT / e["notebook"], {} if fast else e.get("parameters", {}),
                                  runs_dir=runs_dir, name=f"{name}-{Path(e['notebook']).stem}"))
        executed = run / "notebook.ipynb"
        dest = (Path(into) if into else d) / e["as"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(executed, dest)
        print(f"{e['notebook']} -> {run} -> {dest}")
        out.append(dest)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paper", nargs="+")
    ap.add_argument("--check", action="store_true", help="only check the embeds")
    ap.add_argument("--fast", action="store_true", help="use the notebooks' default parameters")
    ap.add_argument("--runs-dir", default=None)
    a = ap.parse_args(argv)
    os.chdir(ROOT)   # the paper's parameters (e.g. ../shared/data/corpus) are relative to the repository root
    for name in a.paper:
        if a.check:
            if problems := check(name): sys.exit("error: " + "; ".join(problems))
            print(f"{name}: {len(embeds(paper_dir(name)))} embeds, all found")
        else: build(name, a.fast, a.runs_dir)


if __name__ == "__main__": main()
