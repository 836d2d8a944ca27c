"""Evaluation speed: spanish_llm.evaluation against lm-evaluation-harness on the same model, tasks and machine.

Both evaluate the same Hugging Face model folder (a random Llama with a BPE tokenizer trained on the bundled
sample corpus) on the same task YAMLs (our shipped tasks written standalone with their local data), zero-shot,
the first --limit documents of each task. Reported: wall time of each (model loading, data, scoring, metrics),
the speed-up, and whether the results agree (per-document predictions and acc / acc_norm).

    nice python benchmarks/eval_bench.py                       # default: 4 tasks x 200 documents, CPU
    nice python benchmarks/eval_bench.py --size tiny --limit 50
    python benchmarks/eval_bench.py --device cuda --size medium --limit 500

Needs the real data (../shared/data or $SPANISH_LLM_DATA) and lm-eval (a dev dependency).
"""
import argparse, json, os, sys, tempfile, time
from pathlib import Path

for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"): os.environ.setdefault(k, "1")
os.environ.setdefault("SPANISH_LLM_PROGRESS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = {  # hidden, layers, heads, vocab
    "tiny": (64, 2, 4, 1000),
    "small": (256, 4, 4, 4000),
    "medium": (512, 8, 8, 8000),
}
TASKS = {"b_tqa_mc1_eu": "truthfulqa-multi_mc1_eu", "b_tqa_mc2_es": "truthfulqa-multi_mc2_es",
         "b_xnli_eu": "xnli_eu", "b_bl2mp": "bl2mp", "b_tqa_mc2_eu": "truthfulqa-multi_mc2_eu"}
DEFAULT = "b_tqa_mc1_eu,b_tqa_mc2_es,b_xnli_eu,b_bl2mp"   # no two tasks share requests: the cache does not help here


def make_model(out: Path, size: str, tokenizer: str = "trained", seed: int = 0) -> Path:
    "A random Llama of `size` with a BPE trained on the sample corpus, or GPT-2's real 50k-token tokenizer."
    import torch, transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
    from spanish_llm.core import sample_dir
    h, layers, heads, vocab = SIZES[size]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False); tok.decoder = decoders.ByteLevel()
    tok.train([str(p) for p in sorted((sample_dir()/"corpus").glob("*.txt"))],
              trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    if tokenizer == "gpt2":
        from spanish_llm.core import shared_data_dir
        g = shared_data_dir(required=True)/"tokenizers/gpt2"
        gt = Tokenizer(models.BPE.from_file(str(g/"gpt2-vocab.json"), str(g/"gpt2-merges.txt")))
        gt.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False); gt.decoder = decoders.ByteLevel()
        fast = transformers.PreTrainedTokenizerFast(tokenizer_object=gt, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    torch.manual_seed(seed)
    cfg = transformers.LlamaConfig(vocab_size=len(fast), hidden_size=h, intermediate_size=int(h * 8 / 3) // 8 * 8,
                                   num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                                   max_position_embeddings=1024, bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                                   pad_token_id=fast.pad_token_id)
    transformers.LlamaForCausalLM(cfg).save_pretrained(out); fast.save_pretrained(out)
    return out


def token_work(mdir, tdir, names, limit, num_fewshot):
    "Tokens each engine runs through the model: lm-eval one sequence per choice; ours each shared prefix once."
    import transformers
    from spanish_llm.evaluation import Scorer, build_requests, load_docs, load_task
    sc = Scorer(transformers.AutoModelForCausalLM.from_pretrained(mdir), transformers.AutoTokenizer.from_pretrained(mdir))
    full = uniq = 0
    for n in names:
        cfg = load_task(n, tdir); docs = load_docs(cfg, limit=limit)
        fs = load_docs(cfg, split=cfg.fewshot_source) if num_fewshot else None
        groups = [[sc.encode_pair(r.context, c) for c in r.continuations]
                  for r in build_requests(cfg, docs, num_fewshot=num_fewshot, fewshot_docs=fs)]
        full += sum(min(len(c) + len(x), sc.max_length) for g in groups for c, x in g)
        uniq += sum(len(p[0]) for p in sc._packs(groups))
    return full, uniq


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="small", choices=list(SIZES))
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--tokenizer", default="trained", choices=["trained", "gpt2"],
                    help="BPE trained on the sample corpus (vocab by --size) or GPT-2's 50,257 tokens (a realistic vocabulary)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tasks", default=DEFAULT, help="subset of " + ",".join(TASKS) + " (mc1_eu + mc2_eu share requests)")
    ap.add_argument("--num-fewshot", type=int, default=0, help="few-shot examples (first_n from the evaluated split)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each (alternating); the fastest counts")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--json", default=None, help="also write the figures here")
    a = ap.parse_args()
    import torch
    if a.threads: torch.set_num_threads(a.threads)
    from spanish_llm.evaluation import evaluate, standalone_task_yaml, load_task, load_docs
    from spanish_llm.core import environment_info
    names = a.tasks.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="eval_bench_"))
    mdir = make_model(tmp/"model", a.size, a.tokenizer)
    tdir = tmp/"tasks"
    for n in names:
        p = standalone_task_yaml(TASKS[n], tdir, n, metrics=None if "mc2" in n else ["acc", "acc_norm"])
        if a.num_fewshot:   # examples from the evaluated split itself (the document is never its own example), in order
            y = p.read_text(); split = load_task(n, tdir).eval_split
            p.write_text(y + f"fewshot_split: {split}\n" + ("" if "fewshot_config" in y else "fewshot_config: {sampler: first_n}\n"))
    for n in names: load_docs(load_task(n, tdir), limit=1)      # warm the datasets cache for both sides

    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    t_ours, t_lm, c_ours, c_lm = [], [], [], []
    evaluate(mdir, tasks=names, include_path=tdir, limit=2, device=a.device)   # imports and first-call costs, paid by neither
    for _ in range(a.repeat):   # alternate, keep the fastest of each (the machine may be shared)
        t0, c0 = time.perf_counter(), time.process_time()
        ours = evaluate(mdir, tasks=names, include_path=tdir, limit=a.limit, batch_size=a.batch_size, device=a.device, log_samples=True,
                        num_fewshot=a.num_fewshot)
        t_ours.append(time.perf_counter() - t0); c_ours.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        lm = HFLM(pretrained=str(mdir), batch_size=a.batch_size, device=a.device, dtype="float32")
        theirs = simple_evaluate(model=lm, tasks=names, num_fewshot=a.num_fewshot, limit=a.limit, log_samples=True, bootstrap_iters=0,
                                 task_manager=TaskManager(include_path=str(tdir), include_defaults=False))
        t_lm.append(time.perf_counter() - t0); c_lm.append(time.process_time() - c0)
    print("wall (s): ours", [round(x, 2) for x in t_ours], "lm-eval", [round(x, 2) for x in t_lm])
    print("cpu  (s): ours", [round(x, 2) for x in c_ours], "lm-eval", [round(x, 2) for x in c_lm])
    t_ours, t_lm, c_ours, c_lm = min(t_ours), min(t_lm), min(c_ours), min(c_lm)

    same_docs = total_docs = 0
    max_dll = 0.0
    rows = []
    for n in names:
        mine = ours["results"][n]
        ref = sorted(theirs["samples"][n], key=lambda s: s["doc_id"])
        agree = 0
        for s, r in zip(mine["samples"], ref):
            lls = [x[0][0] for x in r["resps"]]
            pred = max(range(len(lls)), key=lambda i: (lls[i], -i))
            ok = s["pred"] == pred and all(s[m] == r[m] for m in ("acc", "acc_norm") if m in r and "mc2" not in n)
            agree += ok
            max_dll = max([max_dll] + [abs(x - y) for x, y in zip(s["lls"], lls)])
        same_docs += agree; total_docs += len(ref)
        rows.append((n, mine["n"], mine["counts"]["choices"], mine["metrics"]["acc"], theirs["results"][n]["acc,none"], agree, len(ref)))
    print(f"model: {a.size}, {a.tokenizer} tokenizer ({ours['model']['parameters']:,} parameters), device {a.device}, batch size {a.batch_size}, "
          f"limit {a.limit}, {a.num_fewshot}-shot, torch threads {torch.get_num_threads()}")
    print(f"{'task':<16}{'docs':>6}{'choices':>9}{'acc ours':>11}{'acc lm-eval':>13}{'same docs':>11}")
    for n, d, c, x, y, ag, tot in rows: print(f"{n:<16}{d:>6}{c:>9}{x:>11.4f}{y:>13.4f}{ag:>6}/{tot}")
    identical = same_docs == total_docs and all(abs(x - y) < 1e-6 for *_, x, y, _, _ in [(r[0], r[3], r[4], 0, 0) for r in rows])
    full, uniq = token_work(mdir, tdir, names, a.limit, a.num_fewshot)
    print(f"tokens through the model: lm-eval {full:,}, ours {uniq:,} (shared prefixes once): {full / uniq:.2f}x less work, "
          f"the bound on the speed-up from shared-context encoding alone")
    print(f"wall time (best of {a.repeat}): ours {t_ours:.2f} s, lm-eval {t_lm:.2f} s, speed-up {t_lm / t_ours:.2f}x; "
          f"CPU time: ours {c_ours:.2f} s, lm-eval {c_lm:.2f} s, ratio {c_lm / c_ours:.2f}x; results identical: {identical} "
          f"(largest log-likelihood difference {max_dll:.1e})")
    if a.json:
        Path(a.json).write_text(json.dumps(dict(args=vars(a), ours_s=t_ours, lm_eval_s=t_lm, speedup=t_lm / t_ours, ours_cpu_s=c_ours, lm_eval_cpu_s=c_lm, identical=identical, max_loglikelihood_diff=max_dll,
                                                rows=rows, environment=environment_info()), indent=2))


if __name__ == "__main__":
    main()
