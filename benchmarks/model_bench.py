"""Speed of our model against transformers' LlamaForCausalLM: same config, same weights, same batch, one run.

Measures training-step throughput (forward + backward, tokens/s) and greedy-generation throughput (new tokens/s,
with the KV cache), alternating the two models step by step so that both see the same machine load, and prints
ours / Llama ratios (>= 1 means ours is at least as fast). Each figure is the best of its repetitions: on a shared
machine the best time is the one least disturbed by other work. Run from the repository root:

    nice python benchmarks/model_bench.py                 # CPU-sized defaults
    python benchmarks/model_bench.py --size 125m --batch 8 --seq 1024   # on a GPU
"""
import argparse, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch
from transformers import LlamaForCausalLM
from spanish_llm.core import default_device, environment_info, set_seed, atomic_write_json
from spanish_llm.model import SpanishLLMConfig, SpanishLLMForCausalLM, config_for_size, to_llama_config


def sync(device):
    if device == "cuda": torch.cuda.synchronize()

def timed(fn, device):
    sync(device); t = time.perf_counter(); fn(); sync(device)
    return time.perf_counter() - t

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default=None, help="a preset of SIZES (default: a small CPU-sized config)")
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10, help="timed training steps per model")
    ap.add_argument("--prompt", type=int, default=32, help="prompt length for generation")
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--gen-reps", type=int, default=10)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is steadiest on a shared machine)")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    a = ap.parse_args()
    device, dtype = default_device(), getattr(torch, a.dtype)
    if a.threads: torch.set_num_threads(a.threads)
    set_seed(0)
    cfg = (config_for_size(a.size, a.vocab, max_position_embeddings=max(a.seq, a.prompt + a.new_tokens)) if a.size else
           SpanishLLMConfig(vocab_size=a.vocab, hidden_size=256, intermediate_size=704, num_hidden_layers=4,
                            num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=max(a.seq, a.prompt + a.new_tokens)))
    ours = SpanishLLMForCausalLM(cfg).to(device=device, dtype=dtype)
    llama = LlamaForCausalLM(to_llama_config(cfg)).to(device=device, dtype=dtype)
    llama.config._attn_implementation = "sdpa"
    llama.load_state_dict(ours.state_dict())
    models = {"ours": ours, "llama": llama}
    x = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), device=device)

    def train_step(m):
        def f():
            m.zero_grad(set_to_none=True)
            m(input_ids=x, labels=x, use_cache=False).loss.backward()
        return f
    train = {k: [] for k in models}
    for m in models.values(): m.train(); train_step(m)(); train_step(m)()      # warm-up
    for i in range(a.steps):
        for k in (("ours", "llama") if i % 2 == 0 else ("llama", "ours")):   # alternate who goes first
            train[k].append(timed(train_step(models[k]), device))

    prompt = torch.randint(0, cfg.vocab_size, (a.batch, a.prompt), device=device)
    def gen(m):
        def f():
            with torch.no_grad():
                out = m.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=a.new_tokens,
                                 min_new_tokens=a.new_tokens, do_sample=False, pad_token_id=0)
            assert out.shape[1] == a.prompt + a.new_tokens
        return f
    genr = {k: [] for k in models}
    for m in models.values(): m.eval(); gen(m)(); gen(m)()
    for i in range(a.gen_reps):
        for k in (("ours", "llama") if i % 2 == 0 else ("llama", "ours")):
            genr[k].append(timed(gen(models[k]), device))

    res = {"device": device, "dtype": a.dtype, "config": {k: getattr(cfg, k) for k in
           ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads")},
           "batch": a.batch, "seq": a.seq, "prompt": a.prompt, "new_tokens": a.new_tokens}
    for k in models:
        res[f"train_tokens_per_s_{k}"] = a.batch * a.seq / min(train[k])
        res[f"generate_tokens_per_s_{k}"] = a.batch * a.new_tokens / min(genr[k])
    res["train_ratio_ours_over_llama"] = res["train_tokens_per_s_ours"] / res["train_tokens_per_s_llama"]
    res["generate_ratio_ours_over_llama"] = res["generate_tokens_per_s_ours"] / res["generate_tokens_per_s_llama"]
    print(f"device {device} {a.dtype}, batch {a.batch} x seq {a.seq}, generation {a.prompt}+{a.new_tokens} tokens")
    for what in ("train", "generate"):
        print(f"{what:9s} tokens/s  ours {res[f'{what}_tokens_per_s_ours']:10.1f}   llama {res[f'{what}_tokens_per_s_llama']:10.1f}"
              f"   ratio ours/llama {res[f'{what}_ratio_ours_over_llama']:.3f}")
    if a.out:
        res["environment"] = environment_info()
        atomic_write_json(a.out, res)

if __name__ == "__main__":
    main()
