"""`spanish-llm speedrun --preset cpu-tiny` end to end: one experiment run from corpus to report card, timed."""
import json, math, re, time
from pathlib import Path
import pytest
from conftest import ROOT, assert_one_line_error
from test_experiments import chromium_dom, _runs

LANGS = ["es", "ca", "eu", "gl", "en"]
STEPS = ["prepare", "tokenizer", "pretrain", "bits_per_byte", "multiple_choice"]


def test_bad_input_leaves_nothing(tmp_path, run_cli):
    runs = tmp_path/"runs"
    for args, needles in [(["--preset", "cpu-tinny"], ["preset 'cpu-tinny'", "did you mean 'cpu-tiny'"]),
                          (["--set", "vocab=10"], ["unknown key 'vocab'", "vocab_size"]),
                          (["--set", "mc_limit=many"], ["mc_limit", "expected an integer"]),
                          (["--corpus", tmp_path/"nothing.txt"], ["nothing.txt", "not found"]),
                          (["--parallel", "wmt"], ["parallel set 'wmt'"])]:
        assert_one_line_error(run_cli("speedrun", *args, "--runs-dir", runs), *needles)
    assert _runs(runs) == []


@pytest.fixture(scope="module")
def speedrun_run(tmp_path_factory):
    "One `spanish-llm speedrun --preset cpu-tiny`, timed: (CompletedProcess, run folder, seconds)."
    from conftest import _run_cli
    runs = tmp_path_factory.mktemp("speedrun")/"runs"
    t = time.time()
    r = _run_cli("speedrun", "--preset", "cpu-tiny", "--runs-dir", runs, timeout=900)
    seconds = time.time() - t
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (run,) = _runs(runs)
    return r, run, seconds


def test_speedrun_cpu_tiny(speedrun_run, capsys):
    r, run, seconds = speedrun_run
    with capsys.disabled(): print(f"\nspeedrun --preset cpu-tiny: {seconds:.1f} s wall (CLI, including start-up)")
    assert f"run folder: {run}" in r.stdout and "leaderboard row: | cpu-tiny |" in r.stdout
    names = {p.name for p in run.iterdir()}
    assert {"notebook.ipynb", "manifest.json", "params.yaml", "metrics.jsonl", "figures", "report.html",
            "report_card.html", "summary.md", "results.json", "corpus", "tokenizer", "model"} <= names, names
    m = json.loads((run/"manifest.json").read_text())
    assert m["status"] == "succeeded" and m["parameters"]["preset"] == "cpu-tiny"
    res = json.loads((run/"results.json").read_text())
    # every step ran and was timed; the whole chain fits the budget (10 min on 2 cores)
    assert set(STEPS) <= set(res["times"]) and all(v > 0 for k, v in res["times"].items() if k != "multiple_choice")
    assert res["total_s"] < 600
    # the per-language table: bits per byte from the model and fertility from the tokenizer, for all five languages
    table = res["language_table"]
    assert list(table) == LANGS
    for l in LANGS:
        bpb, fert = table[l]["bits_per_byte"], table[l]["fertility"]
        assert 0.3 < bpb < 9 and math.isfinite(bpb), (l, bpb)        # a trained byte model: well under 8 bits/byte untrained-ish
        assert 1.0 < fert < 6, (l, fert)
    assert abs(res["mean_bpb"] - sum(table[l]["bits_per_byte"] for l in LANGS[:4]) / 4) < 1e-9
    if res["multiple_choice"] is not None:
        assert res["multiple_choice"] and res["mc_table"]
    # the model learned something: the training loss went down
    curves = [json.loads(l) for l in (run/"model"/"metrics.jsonl").read_text().splitlines()]
    losses = [c["loss"] for c in curves if isinstance(c.get("loss"), (int, float))]
    assert len(losses) >= 2 and losses[-1] < losses[0] - 0.5, "the training loss did not fall"
    # metrics logged through the runner
    logged = {json.loads(l)["name"] for l in (run/"metrics.jsonl").read_text().splitlines()}
    assert {f"bpb/{l}" for l in LANGS} | {f"fertility/{l}" for l in LANGS} | {"mean_bpb"} <= logged
    # the markdown summary and the HTML report card (rendered offline in Chromium)
    md = (run/"summary.md").read_text()
    for l in LANGS: assert re.search(rf"^\| {l} \| [0-9.]+ \|", md, re.M), l
    assert "mean bits per byte (es, ca, eu, gl)" in md
    html = (run/"report_card.html").read_text()
    assert not re.search(r"<script[^>]*src=[\"']https?://", html)
    dom = chromium_dom(run/"report_card.html")
    assert dom.count('class="plot-container plotly"') == 3 and "main-svg" in dom
    assert "Loss curves" in dom and "Validation bits per byte" in dom and "Tokenizer fertility" in dom and "<td>eu</td>" in dom


def test_evaluate_and_pretrain_notebooks(speedrun_run, tmp_path, run_cli):
    "The shipped evaluate and pretrain experiment notebooks run through the runner (on the speedrun's model)."
    _, run, _ = speedrun_run
    res = json.loads((run/"results.json").read_text())
    model = res["pretrain"]["checkpoint"]
    runs = tmp_path/"runs"
    r = run_cli("experiment", "run", ROOT/"experiments"/"evaluate.ipynb", "-p", "model", model, "-p", "tokenizer",
                run/"tokenizer", "-p", "tasks", "", "--runs-dir", runs)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_cli("experiment", "run", ROOT/"experiments"/"pretrain.ipynb", "-p", "overrides",
                '["steps=20", "eval_every=10", "save_every=20", "log_every=5"]', "--runs-dir", runs)
    assert r.returncode == 0, r.stderr[-3000:]
    ev, pt = sorted(_runs(runs), key=lambda p: "pretrain" in p.name)
    bpb = {json.loads(l)["name"]: json.loads(l)["value"] for l in (ev/"metrics.jsonl").read_text().splitlines()}
    for l in LANGS:   # the same model scored by the evaluate notebook and by the speedrun agree
        assert abs(bpb[f"bpb/{l}"] - res["language_table"][l]["bits_per_byte"]) < 1e-6
    recs = [json.loads(l) for l in (pt/"metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in recs if x["name"] == "loss"] == [5, 10, 15, 20]
    assert {x["name"] for x in recs} >= {f"val_bpb/{l}" for l in LANGS[:4]}
    assert (pt/"figures"/"loss.json").exists() and (pt/"model"/"metrics.jsonl").exists()


def test_mc_step_skips_a_task_the_model_cannot_score(tmp_path, shared_data, capsys):
    "A task whose choices exceed the model's window (a one-language tokenizer on other languages) is noted, not fatal."
    import transformers
    from spanish_llm.core import sample_dir
    from spanish_llm.tokenizer import TokenizerConfig, train_tokenizer
    from spanish_llm.speedrun import mc_step, language_table
    d = train_tokenizer([str(sample_dir()/"corpus")], TokenizerConfig(vocab_size=320), tmp_path/"m")
    tok = transformers.AutoTokenizer.from_pretrained(d)
    cfg = transformers.LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=8)
    transformers.LlamaForCausalLM(cfg).save_pretrained(d)
    mc = mc_step(d, d, "bl2mp,xnli_eu", limit=2)
    assert mc["results"] == {} and sorted(mc["errors"]) == ["bl2mp", "xnli_eu"]
    assert "context window" in mc["errors"]["bl2mp"]
    assert "warning: multiple-choice task bl2mp skipped" in capsys.readouterr().err
    assert language_table(None, None, mc).loc["eu", "mc_accuracy"] is None


def test_summary_names_the_languages_validation_covered():
    "A corpus without es and ca has no four-language validation mean; the summary says what validation did measure."
    from spanish_llm.speedrun import summary_markdown
    md = summary_markdown(dict(preset="cpu-tiny", parallel="sample", mean_bpb=4.0, val_mean_bpb=None, target_bpb=3.0,
                               pretrain=dict(val=dict(eu=dict(bpb=3.249), gl=dict(bpb=2.955)))))
    assert "no validation during pretraining" not in md
    assert "eu 3.2490, gl 2.9550" in md and "the corpus has no es, ca" in md
