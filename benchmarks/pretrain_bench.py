"""Pretraining throughput against bare baselines measured in the same run.

1. Tokenize + pack (`spanish_llm.data.prepare_tokens` on a prepared corpus: tokenizer and Arrow load, `datasets`
   map, split, pack, write shards) against loading the same `tokenizers` tokenizer and calling its raw
   `encode_batch` over the same texts already in memory.
   Target: pipeline overhead at most 25%.
2. Training tokens/s of the full loop (`spanish_llm.train.pretrain`: data mixture, accelerate, clipping, schedule,
   metrics) against a minimal plain-PyTorch loop (same model, batch, optimizer, clipping). Target: at most 10%.

    nice python benchmarks/pretrain_bench.py [--docs 60000] [--steps 40] [--threads 1] [--only tokenize|train]

Uses the real corpus in ../shared/data when present (else the bundled sample, repeated) and GPT-2's tokenizer
from ../shared/data/tokenizers (else a BPE trained on the sample). Prints one JSON object with the ratios.
"""
import argparse, json, os, statistics, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SPANISH_LLM_PROGRESS", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1"); os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def corpus_texts(n_docs: int):
    from spanish_llm.core import sample_dir, shared_data_dir
    from spanish_llm.corpus import read_corpus
    d = shared_data_dir()
    srcs = ([str(d/"corpus"/l/"*.txt") for l in ("es", "ca", "eu", "gl", "en")] if d else [str(sample_dir()/"corpus")])
    texts, langs = [], []
    while len(texts) < n_docs:
        before = len(texts)
        for doc in read_corpus(srcs):
            texts.append(doc.text); langs.append(doc.lang)
            if len(texts) >= n_docs: break
        if len(texts) == before: break
    return texts, langs, ("shared corpus" if d else "sample corpus")


def tokenizer_dir(tmp: Path) -> Path:
    from spanish_llm.core import sample_dir, shared_data_dir
    d = shared_data_dir()
    out = tmp/"tok"
    if d and (d/"tokenizers/gpt2/gpt2-vocab.json").is_file():
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers
        from transformers import PreTrainedTokenizerFast
        tk = Tokenizer(models.BPE.from_file(str(d/"tokenizers/gpt2/gpt2-vocab.json"), str(d/"tokenizers/gpt2/gpt2-merges.txt")))
        tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tk.decoder = decoders.ByteLevel()
        PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>").save_pretrained(str(out))
        return out
    from spanish_llm.tokenizer import TokenizerConfig, train_tokenizer
    return train_tokenizer([sample_dir()/"corpus"], TokenizerConfig(vocab_size=8000), out)


def bench_tokenize(tmp: Path, n_docs: int, repeats: int = 5) -> dict:
    import datasets
    from spanish_llm.data import DataConfig, load_hf_tokenizer, prepare_tokens
    texts, langs, what = corpus_texts(n_docs)
    prepared = tmp/"prepared"
    ds = datasets.Dataset.from_dict(dict(text=texts, lang=langs, id=[f"d{i}" for i in range(len(texts))]))
    ds.save_to_disk(str(prepared/"dataset")); (prepared/"card.json").write_text("{}")
    tok_dir = tokenizer_dir(tmp)
    from tokenizers import Tokenizer
    raw, raw_fast, pipe, n_tok = [], [], [], 0
    for r in range(repeats):
        t0 = time.perf_counter()
        backend, n_tok = Tokenizer.from_file(str(tok_dir/"tokenizer.json")), 0     # both sides load the tokenizer
        for i in range(0, len(texts), 1000):
            n_tok += sum(len(e.ids) for e in backend.encode_batch(texts[i:i + 1000], add_special_tokens=False))
        raw.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        backend = Tokenizer.from_file(str(tok_dir/"tokenizer.json"))
        for i in range(0, len(texts), 1000):
            sum(len(e.ids) for e in backend.encode_batch_fast(texts[i:i + 1000], add_special_tokens=False))
        raw_fast.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        idx = prepare_tokens(DataConfig(corpus=[str(prepared)], tokenizer=str(tok_dir), seq_len=1024), tmp/f"tokens{r}")
        pipe.append(time.perf_counter() - t0)
    stored = sum(s["n_tokens"] for sp in idx["splits"].values() for s in sp.values())
    assert stored == n_tok + len(texts), (stored, n_tok, len(texts))     # every token plus one eos per document
    raw_s, pipe_s = min(raw), min(pipe)
    return dict(corpus=what, docs=len(texts), tokens=n_tok, raw_tokens_per_s=n_tok / raw_s,
                pipeline_tokens_per_s=n_tok / pipe_s, overhead=pipe_s / raw_s - 1, target="<= 0.25",
                raw_fast_tokens_per_s=n_tok / min(raw_fast), overhead_vs_encode_batch_fast=pipe_s / min(raw_fast) - 1)


def bench_train(tmp: Path, steps: int, threads: int) -> dict:
    import torch
    from spanish_llm.core import config_from_dict, set_seed
    from spanish_llm.data import DataConfig, get_batch, open_mixture, prepare_tokens
    from spanish_llm.tokenizer import TokenizerConfig, train_tokenizer
    from spanish_llm.core import sample_dir
    from spanish_llm.train import PretrainConfig, build_model, param_groups, pretrain
    torch.set_num_threads(threads)
    tok = train_tokenizer([sample_dir()/"corpus"], TokenizerConfig(vocab_size=2048), tmp/"ttok")
    prepare_tokens(DataConfig(corpus=[str(sample_dir()/"corpus")], tokenizer=str(tok), seq_len=256), tmp/"ttokens")
    model = dict(size="tiny", overrides=dict(hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4))
    cfg = config_from_dict(PretrainConfig, dict(model=model, data=dict(tokens=str(tmp/"ttokens")), steps=steps,
                                                batch_size=8, micro_batch_size=8, log_every=1, eval_every=10**9,
                                                save_every=10**9, threads=threads, optim=dict(warmup_steps=5)))
    def plain_loop():
        "The minimal loop: same model, same batches, AdamW + clipping, no framework."
        shards, sampler = open_mixture(tmp/"ttokens", cfg.data, seed=0)
        set_seed(0)
        m = build_model(cfg.model, shards.index["vocab_size"], shards.index["seq_len"], shards.index["eos_id"])
        opt = torch.optim.AdamW(param_groups(m, 0.1), lr=3e-4, betas=(0.9, 0.95))
        dts = []
        for s in range(steps):
            t0 = time.perf_counter()
            b = get_batch(shards, sampler.draw(8))
            loss = m(input_ids=torch.as_tensor(b["input_ids"]), labels=torch.as_tensor(b["labels"])).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step(); opt.zero_grad(set_to_none=True)
            if s >= 5: dts.append(time.perf_counter() - t0)
        return statistics.median(dts), sum(p.numel() for p in m.parameters()), shards
    def full_loop(k):
        pretrain(cfg, tmp/f"run{k}")
        recs = [json.loads(l) for l in (tmp/f"run{k}"/"metrics.jsonl").read_text().splitlines()]
        recs = [r for r in recs if "loss" in r]
        return statistics.median(recs[i]["elapsed_s"] - recs[i - 1]["elapsed_s"] for i in range(6, len(recs)))
    plain1, n_params, shards = plain_loop()
    loop1 = full_loop(1)
    plain2, _, _ = plain_loop()
    loop2 = full_loop(2)
    loop, plain = min(loop1, loop2), min(plain1, plain2)
    tok_per_step = 8 * shards.index["seq_len"]
    return dict(device="cpu", threads=threads, params=n_params, steps=steps,
                loop_tokens_per_s=tok_per_step / loop, plain_tokens_per_s=tok_per_step / plain,
                overhead=loop / plain - 1, target="<= 0.10")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=60000)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=["tokenize", "train"], default=None, help="run one of the two benchmarks")
    a = ap.parse_args()
    from spanish_llm.core import environment_info
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        res = {}
        if a.only in (None, "tokenize"): res["tokenize_pack"] = bench_tokenize(d, a.docs)
        if a.only in (None, "train"): res["train"] = bench_train(d, a.steps, a.threads)
    res["environment"] = environment_info()["hardware"]
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
