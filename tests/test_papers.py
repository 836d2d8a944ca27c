"Papers: every embed points at a labelled cell, and the notebooks a paper embeds execute and produce those cells."
import importlib.util, json, shutil
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAPERS = sorted(p.parent.name for p in (ROOT / "papers").glob("*/_quarto.yml"))


def _build():
    spec = importlib.util.spec_from_file_location("paper_build", ROOT / "papers/build.py")
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m


def test_there_is_a_paper():
    assert "tokenizer-fertility" in PAPERS


@pytest.mark.parametrize("paper", PAPERS)
def test_embeds_point_at_labelled_cells(paper):
    b = _build()
    assert b.embeds(b.paper_dir(paper)), f"{paper} embeds nothing"
    assert b.check(paper) == []


def test_check_reports_a_missing_label(tmp_path, monkeypatch):
    "A paper that embeds a label its notebook lacks is reported (so the check can fail)."
    b = _build()
    d = tmp_path / "papers/p"; d.mkdir(parents=True)
    (d / "_quarto.yml").write_text("project:\n  type: manuscript\n")
    (d / "paper.yaml").write_text("notebooks:\n  - notebook: experiments/tokenizer_sweep.ipynb\n    as: notebooks/t.ipynb\n")
    (d / "index.qmd").write_text("{{< embed notebooks/t.ipynb#fig-nowhere >}}\n{{< embed notebooks/u.ipynb#x >}}\n")
    monkeypatch.setattr(b, "PAPERS", tmp_path / "papers")
    problems = b.check("p")
    assert any("no cell labelled fig-nowhere" in p for p in problems), problems
    assert any("u.ipynb, which paper.yaml does not list" in p for p in problems), problems
    with pytest.raises(SystemExit, match="no paper 'nope'"): b.paper_dir("nope")


def _outputs_by_label(nb: Path) -> dict[str, list]:
    cells = json.loads(nb.read_text())["cells"]
    out = {}
    for c in cells:
        if c["cell_type"] != "code": continue
        for line in "".join(c["source"]).splitlines():
            if line.startswith("#| label:"): out[line.split(":", 1)[1].strip()] = c.get("outputs", [])
    return out


@pytest.mark.parametrize("paper", PAPERS)
def test_embedded_notebooks_execute_and_produce_the_cells(paper, tmp_path, shared_data):
    "Build the paper with the notebooks' fast defaults; each embedded cell exists in the executed notebook with output."
    b = _build()
    built = b.build(paper, fast=True, runs_dir=str(tmp_path / "runs"), into=tmp_path / "paper")
    assert built and all(p.exists() for p in built)
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == len(built)
    for r in runs: assert json.loads((r / "manifest.json").read_text())["status"] == "succeeded"
    for nb, label in b.embeds(b.paper_dir(paper)):
        outputs = _outputs_by_label(tmp_path / "paper" / nb)
        assert label in outputs, f"{nb}: no cell labelled {label}"
        assert not any(o.get("output_type") == "error" for o in outputs[label]), f"{nb}#{label} raised"
        data = [k for o in outputs[label] for k in o.get("data", {})]
        if label.startswith("fig-"):
            html = "".join("".join(o["data"].get("text/html", "")) for o in outputs[label] if "data" in o)
            assert "plotly" in html.lower(), f"{nb}#{label}: no plotly figure ({data})"
            if shutil.which("chromium") or shutil.which("google-chrome"):   # CI installs Chromium: docx/PDF get a PNG
                assert "image/png" in data, f"{nb}#{label}: no static image for non-HTML formats ({data})"
        else:
            assert "text/html" in data or "text/markdown" in data or "text/plain" in data, f"{nb}#{label}: no table ({data})"
