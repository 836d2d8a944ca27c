"""spanish_llm.evaluation against lm-evaluation-harness (the oracle), end to end through the CLI, and bad input.

A tiny random LlamaForCausalLM with a BPE tokenizer trained here is saved as a Hugging Face folder; lm-eval's
HFLM and our engine evaluate the same folder on the same task YAMLs (written with local data files so that
both run offline) and must agree: per-document predictions and acc / acc_norm exactly on zero-shot multiple
choice, bits per byte to 1e-6 on loglikelihood_rolling (with a 64-token window, so documents span windows).
"""
import json, shutil
from pathlib import Path
import pytest

from conftest import assert_one_line_error

LIMIT = 40


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    "A random tiny Llama (512-token window) and a 400-token byte-level BPE trained on the bundled sample corpus."
    import torch, transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
    from spanish_llm.core import sample_dir
    out = tmp_path_factory.mktemp("tiny")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False); tok.decoder = decoders.ByteLevel()
    tok.train([str(p) for p in sorted((sample_dir()/"corpus").glob("*.txt"))],
              trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    torch.manual_seed(1)
    cfg = transformers.LlamaConfig(vocab_size=len(fast), hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                   bos_token_id=0, eos_token_id=1, pad_token_id=2)
    transformers.LlamaForCausalLM(cfg).save_pretrained(out); fast.save_pretrained(out)
    return out


ORACLE = {"o_tqa_mc1_eu": "truthfulqa-multi_mc1_eu", "o_tqa_mc2_es": "truthfulqa-multi_mc2_es",
          "o_xnli_eu": "xnli_eu", "o_bl2mp": "bl2mp", "o_flores_bpb_eu": "flores_bpb_eu"}


@pytest.fixture(scope="module")
def oracle_tasks(tmp_path_factory, shared_data):
    "Our shipped tasks written as standalone YAMLs with absolute local data files (so lm-eval runs them offline)."
    from spanish_llm.evaluation import standalone_task_yaml
    d = tmp_path_factory.mktemp("oracle_tasks")
    for name, src in ORACLE.items():
        standalone_task_yaml(src, d, name, metrics=["acc", "acc_norm"] if src in ("xnli_eu", "bl2mp", "truthfulqa-multi_mc1_eu") else None)
    return d


@pytest.fixture(scope="module")
def both(tiny_model, oracle_tasks):
    "(ours, lm-eval's) results on the oracle tasks, zero-shot, first LIMIT documents."
    from spanish_llm.evaluation import evaluate
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    tm = TaskManager(include_path=str(oracle_tasks), include_defaults=False)
    mc, roll = [n for n in ORACLE if "bpb" not in n], [n for n in ORACLE if "bpb" in n]
    ours = evaluate(tiny_model, tasks=mc, include_path=oracle_tasks, limit=LIMIT, batch_size=8, log_samples=True, device="cpu")
    lm = HFLM(pretrained=str(tiny_model), batch_size=8, device="cpu", dtype="float32")
    theirs = simple_evaluate(model=lm, tasks=mc, num_fewshot=0, limit=LIMIT, log_samples=True, bootstrap_iters=10, task_manager=tm)
    # rolling windows of 64 tokens, so that FLORES sentences span several
    ours_r = evaluate(tiny_model, tasks=roll, include_path=oracle_tasks, limit=LIMIT, batch_size=8, log_samples=True,
                      device="cpu", max_length=64)
    lm = HFLM(pretrained=str(tiny_model), batch_size=8, device="cpu", dtype="float32", max_length=64)
    theirs_r = simple_evaluate(model=lm, tasks=roll, num_fewshot=0, limit=LIMIT, bootstrap_iters=0, task_manager=tm)
    ours["results"].update(ours_r["results"]); theirs["results"].update(theirs_r["results"])
    return ours, theirs


@pytest.mark.parametrize("task", ["o_tqa_mc1_eu", "o_xnli_eu", "o_bl2mp", "o_tqa_mc2_es"])
def test_multiple_choice_agrees_with_lm_eval(both, task):
    ours, theirs = both
    mine = ours["results"][task]
    ref = sorted(theirs["samples"][task], key=lambda s: s["doc_id"])
    assert mine["n"] == len(ref) == LIMIT
    assert ours["engine"]["packed"] is True
    for s, r in zip(mine["samples"], ref):
        lls = [x[0][0] for x in r["resps"]]       # resps: [[(loglikelihood, is_greedy)], ...]
        assert len(s["lls"]) == len(lls)
        assert s["pred"] == max(range(len(lls)), key=lambda i: (lls[i], -i))          # same choice picked
        assert max(abs(a - b) for a, b in zip(s["lls"], lls)) < 1e-3                      # same numbers (float32)
        for m in ("acc", "acc_norm"):
            if m in r and "mc2" in task: assert s[m] == pytest.approx(r[m], rel=1e-4)           # a probability (mc2)
            elif m in r: assert s[m] == r[m], (task, s["doc_id"], m)                            # 0 or 1: exactly
    for m in ("acc", "acc_norm"):
        key = f"{m},none"
        if key in theirs["results"][task]:
            tol = 1e-6 if "mc2" in task else 1e-12
            assert mine["metrics"][m] == pytest.approx(theirs["results"][task][key], abs=tol)
            assert mine["metrics"][f"{m}_stderr"] == pytest.approx(theirs["results"][task][f"{m}_stderr,none"], rel=1e-4)


def test_bits_per_byte_agrees_with_lm_eval(both, tiny_model, shared_data):
    from spanish_llm.evaluation import bits_per_byte
    ours, theirs = both
    mine, ref = ours["results"]["o_flores_bpb_eu"]["metrics"], theirs["results"]["o_flores_bpb_eu"]
    assert max(s["n_tokens"] for s in ours["results"]["o_flores_bpb_eu"]["samples"]) > 64 * 2   # some span three windows
    for m in ("bits_per_byte", "word_perplexity", "byte_perplexity"):
        assert mine[m] == pytest.approx(ref[f"{m},none"], abs=1e-6, rel=1e-6), m
    # the parallel-set API gives the same number on the same sentences
    bpb = bits_per_byte(tiny_model, parallel={"eu": shared_data/"parallel/flores200-dev/eus_Latn.dev.gz"}, limit=LIMIT, device="cpu", max_length=64)
    assert bpb["eu"]["bits_per_byte"] == pytest.approx(mine["bits_per_byte"], abs=1e-6)


def test_results_record_provenance(both):
    ours, _ = both
    assert {"batch_size", "dtype", "device", "packed"} <= set(ours["engine"])
    assert len(ours["model"]["fingerprint"]) == 16 and ours["environment"]["packages"]["torch"]
    r = ours["results"]["o_xnli_eu"]
    assert r["lang"] == "eu" and r["counts"]["choices"] == 3 * LIMIT and len(r["data_fingerprint"]) == 16


def test_cli_end_to_end(run_cli, tiny_model, tmp_path, shared_data):
    out = tmp_path/"res/results.json"
    r = run_cli("eval", "--model", tiny_model, "--tasks", "truthfulqa_mc1,bl2mp", "--limit", "6", "--batch-size", "4",
                "--out", out, "--log-samples", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert sorted(r_["lang"] for r_ in res["results"].values()) == ["ca", "en", "es", "eu", "eu", "gl"]
    assert all(len(v["samples"]) == 6 for v in res["results"].values())
    table = out.with_suffix(".md").read_text()
    assert "| task | es | ca | eu | gl | en |" in table and "bl2mp" in table
    assert out.with_suffix(".html").stat().st_size > 1000
    # the same folder evaluated twice with the same batch size gives identical numbers
    out2 = tmp_path/"again.json"
    assert run_cli("eval", "--model", tiny_model, "--tasks", "bl2mp", "--limit", "6", "--batch-size", "4", "--out", out2,
                   "--device", "cpu").returncode == 0
    assert json.loads(out2.read_text())["results"]["bl2mp"]["metrics"] == res["results"]["bl2mp"]["metrics"]
    # one row per forward pass (--batch-tokens 1) changes nothing but speed, and is recorded
    out3 = tmp_path/"rows.json"
    assert run_cli("eval", "--model", tiny_model, "--tasks", "bl2mp", "--limit", "6", "--batch-tokens", "1", "--out", out3,
                   "--device", "cpu").returncode == 0
    r3 = json.loads(out3.read_text())
    assert r3["engine"]["batch_tokens"] == 1 and res["engine"]["batch_tokens"] == 1024
    assert r3["results"]["bl2mp"]["metrics"] == res["results"]["bl2mp"]["metrics"]


def test_bad_input(run_cli, tiny_model, tmp_path, shared_data):
    out = tmp_path/"r.json"
    assert_one_line_error(run_cli("eval", "--model", tiny_model, "--tasks", "truthfulqa_mc3", "--out", out),
                          "unknown task 'truthfulqa_mc3'", "truthfulqa_mc1")
    tasks = tmp_path/"tasks"; tasks.mkdir()
    (tasks/"d.jsonl").write_text('{"q": "Zer?", "a": "bai", "b": "ez", "t": 0}\n{"q": "Nor?", "a": "ni", "b": "zu", "t": 7}\n')
    base = "dataset_path: json\ndataset_kwargs: {data_files: {test: d.jsonl}}\ntest_split: test\ndoc_to_choice: '{{[a, b]}}'\n"
    (tasks/"typo.yaml").write_text("task: typo\n" + base + "doc_to_txt: '{{q}}'\ndoc_to_target: t\n")
    (tasks/"tmpl.yaml").write_text("task: tmpl\n" + base + "doc_to_text: '{{question}}'\ndoc_to_target: 0\n")
    (tasks/"target.yaml").write_text("task: target\n" + base + "doc_to_text: '{{q}}'\ndoc_to_target: t\n")
    (tasks/"good.yaml").write_text("task: good\n" + base + "doc_to_text: '{{q}}'\ndoc_to_target: 0\n")
    (tasks/"e.jsonl").write_text("")
    (tasks/"empty.yaml").write_text("task: empty\n" + base.replace("d.jsonl", "e.jsonl") + "doc_to_text: '{{q}}'\ndoc_to_target: 0\n")
    inc = ("--include-path", tasks)
    assert_one_line_error(run_cli("eval", "--model", tiny_model, "--tasks", "typo", *inc, "--out", out), "typo.yaml", "doc_to_txt", "doc_to_text")
    (tasks/"typo.yaml").unlink()
    assert run_cli("eval", "--model", tiny_model, "--tasks", "good", *inc, "--out", out, "--device", "cpu").returncode == 0
    earlier = out.read_bytes()
    assert_one_line_error(run_cli("eval", "--model", tiny_model, "--tasks", "good,tmpl", *inc, "--out", out, "--device", "cpu"),
                          "tmpl.yaml", "doc_to_text failed on document 0", "question", "r.partial.json")
    kept = json.loads((tmp_path/"r.partial.json").read_text())
    assert list(kept["results"]) == ["good"] and "tmpl" in kept["errors"]          # results already computed are kept
    assert out.read_bytes() == earlier                                              # and an earlier run's file is untouched
    assert_one_line_error(run_cli("eval", "--model", tiny_model, "--tasks", "target", *inc, "--out", tmp_path/"t.json"),
                          "target 7 of document 1 is not one of its 2 choices")
    assert_one_line_error(run_cli("eval", "--model", tiny_model, "--tasks", "empty", *inc, "--out", tmp_path/"e.json"), "empty")
    notok = tmp_path/"notok"; notok.mkdir()
    for f in ("config.json", "model.safetensors"): shutil.copy(tiny_model/f, notok/f)
    assert_one_line_error(run_cli("eval", "--model", notok, "--tasks", "bl2mp", "--out", tmp_path/"n.json"), "no tokenizer")


def test_few_shot_agrees_with_lm_eval(tiny_model, oracle_tasks):
    "2-shot, examples taken in order from the evaluated split (never the document itself): same contexts, same scores."
    from spanish_llm.evaluation import evaluate
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    y = (oracle_tasks/"o_tqa_mc1_eu.yaml").read_text().replace("task: o_tqa_mc1_eu", "task: o_tqa_fs")
    (oracle_tasks/"o_tqa_fs.yaml").write_text(y + "fewshot_split: validation\nfewshot_config: {sampler: first_n}\n")
    ours = evaluate(tiny_model, tasks="o_tqa_fs", include_path=oracle_tasks, limit=12, num_fewshot=2, log_samples=True, device="cpu")
    theirs = simple_evaluate(model=HFLM(pretrained=str(tiny_model), batch_size=8, device="cpu", dtype="float32"), tasks=["o_tqa_fs"],
                             num_fewshot=2, limit=12, log_samples=True, bootstrap_iters=0,
                             task_manager=TaskManager(include_path=str(oracle_tasks), include_defaults=False))
    ref = sorted(theirs["samples"]["o_tqa_fs"], key=lambda s: s["doc_id"])
    for s, r in zip(ours["results"]["o_tqa_fs"]["samples"], ref):
        assert max(abs(a - b[0][0]) for a, b in zip(s["lls"], r["resps"])) < 1e-3
        assert s["acc"] == r["acc"] and s["acc_norm"] == r["acc_norm"]


def test_every_shipped_task_loads_and_its_functions_resolve():
    "Hub-only tasks cannot run offline, but their YAML must parse and every `!function` they name must import."
    from spanish_llm.evaluation import FunctionRef, load_task, task_index
    index = task_index()
    tasks = [n for n, e in index.items() if e["kind"] == "task"]
    assert {"belebele_eus_Latn", "paws_eu", "xstorycloze_eu", "xcopa_eu", "bl2mp"} <= set(index)
    refs = 0
    for name in tasks:
        cfg = load_task(name, index=index)
        for field in ("process_docs", "process_results", "doc_to_text", "doc_to_choice", "doc_to_target"):
            f = getattr(cfg, field, None)
            if isinstance(f, FunctionRef): assert callable(f.resolve()), (name, field); refs += 1
    assert refs >= 4, refs


def test_paws_processing():
    "IberoBench's PAWS-X document processing: detokenized (es, ca, gl) or not (eu); empty pairs dropped."
    import datasets
    from spanish_llm.evaluation import FunctionRef, load_task
    d = datasets.Dataset.from_list([dict(sentence1="Hola , mundo .", sentence2="Sí , claro", label=1),
                                    dict(sentence1="", sentence2="x", label=0)])
    es, eu = load_task("paws_es_spanish_bench").process_docs, load_task("paws_eu").process_docs
    assert isinstance(es, FunctionRef) and isinstance(eu, FunctionRef)
    assert es(d)[:]["sentence1"] == ["Hola, mundo"] and es(d)[:]["sentence2"] == ["sí, claro"]
    assert eu(d)[:]["sentence1"] == ["Hola , mundo "] and eu(d)[:]["sentence2"] == ["sí , claro"]


def test_bad_arguments_fail_before_the_model_runs(run_cli, tiny_model, tmp_path):
    "Each gives one error line naming the value, and no traceback; an empty data file is named as such."
    from spanish_llm.core import SpanishLLMError, sample_dir
    from spanish_llm.evaluation import evaluate
    from spanish_llm.tokenizer import TokenizerConfig, train_tokenizer
    out = tmp_path/"r.json"
    assert_one_line_error(run_cli("eval", "--model", tiny_model, "--tasks", "bl2mp", "--out", out, "--dtype", "float64x"),
                          "dtype 'float64x'", "float32")
    for kw, msg in [(dict(device="cudax"), "device 'cudax'"), (dict(num_fewshot=-1), "num_fewshot -1"), (dict(batch_tokens=-1), "batch tokens -1"),
                    (dict(out=tmp_path), "is a folder")]:
        with pytest.raises(SpanishLLMError, match=msg): evaluate(tiny_model, tasks="bl2mp", limit=2, **{"out": out, **kw})
    assert not out.exists()
    big = train_tokenizer([str(sample_dir()/"corpus")], TokenizerConfig(vocab_size=1000), tmp_path/"big")
    with pytest.raises(SpanishLLMError, match="1,000 tokens, but the model .* embeds only"):
        evaluate(tiny_model, big, tasks="bl2mp", limit=2)
    tasks = tmp_path/"tasks"; tasks.mkdir(); (tasks/"e.jsonl").write_text("")
    (tasks/"empty.yaml").write_text("task: empty\ndataset_path: json\ndataset_kwargs: {data_files: {test: e.jsonl}}\n"
                                    "test_split: test\ndoc_to_text: '{{q}}'\ndoc_to_choice: '{{[a, b]}}'\ndoc_to_target: 0\n")
    with pytest.raises(SpanishLLMError, match="e.jsonl: empty file; task 'empty' has no documents") as e:
        evaluate(tiny_model, tasks="empty", include_path=tasks)
    assert "offline" not in str(e.value)


def test_run_folder_and_tacon(run_cli, tiny_model, tmp_path, shared_data):
    "A pretraining run's folder evaluates its `latest` checkpoint; the shipped TaCon tasks give bits per byte."
    run = tmp_path/"run"; shutil.copytree(tiny_model, run/"ckpt-7"); (run/"latest").write_text("ckpt-7")
    out, corpus = tmp_path/"t.json", tmp_path/"eu.txt"
    corpus.write_text("".join((shared_data/"parallel/tacon/tacon.eng-spa-eus-glg-cat.eus").read_text().splitlines(True)[:3]))
    r = run_cli("eval", "--model", run, "--tasks", "tacon_bpb", "--limit", "3", "--out", out, "--device", "cpu",
                "--contamination", corpus)
    assert r.returncode == 0, r.stderr
    # the Basque lines in the corpus are found (2 of the 3 have 13 words or more), the other languages' are not
    assert "contamination tacon_bpb_eu: 2 of 2 documents share a 13-gram" in r.stdout
    assert "contamination tacon_bpb_es: 0 of 2 documents" in r.stdout
    res = json.loads(out.read_text())
    assert res["model"]["name"] == str(run/"ckpt-7")
    assert [v["lang"] for v in res["results"].values()] == ["es", "ca", "eu", "gl", "en"]
    assert all(v["metrics"]["bits_per_byte"] > 0 and v["n"] == 3 for v in res["results"].values())


def test_an_unreadable_yaml_of_yours_does_not_stop_the_others(run_cli, tiny_model, tmp_path, shared_data):
    "As in lm-eval, one broken file in --include-path is listed as unreadable, and named when a task is not found."
    from spanish_llm.core import package_dir
    mine = tmp_path/"mine"; mine.mkdir()
    (mine/"mine.yaml").write_text((package_dir()/"tasks/bl2mp/bl2mp.yaml").read_text().replace("task: bl2mp", "task: my_bl2mp"))
    (mine/"broken.yaml").write_text("task: [unclosed\n")
    r = run_cli("eval", "--model", tiny_model, "--tasks", "my_bl2mp", "--include-path", mine, "--limit", "4",
                "--out", tmp_path/"r.json", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path/"r.json").read_text())["results"]["my_bl2mp"]["n"] == 4
    lst = run_cli("eval", "--list", "--include-path", mine)
    assert lst.returncode == 0 and f"{mine/'broken.yaml'}\tunreadable" in lst.stdout, lst.stdout[-500:]
    assert_one_line_error(run_cli("eval", "--model", tiny_model, "--tasks", "my_bl2", "--include-path", mine,
                                  "--out", tmp_path/"x.json"), "unknown task 'my_bl2'", "broken.yaml", "not valid YAML")
