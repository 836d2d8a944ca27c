"""Model FLOPs utilization (MFU) of training steps with bf16 autocast and torch.compile, on one accelerator.

For each preset (default 1b, 350m, 125m) it builds the model directly on the device, compiles it (`--compile model`:
the whole model with its loss, as the trainer's `compile: true` does; `blocks`: each decoder block, which share one
compiled graph, so compilation is quicker; `none`), runs a few warm-up steps and then times `--steps` full training
steps (forward, backward, fused AdamW), under the attention-kernel preference `--sdpa` (`auto`, the trainer's
default, asks for cuDNN's kernels first on Hopper; `torch` keeps torch's order). `--compile` and `--sdpa` take
comma-separated lists, so one run compares them on the same machine; so does `--rope`: `table` is the model's
(cos and sin looked up in tables made once), `computed` the baseline that computes them in every forward pass, as
`transformers`' Llama does (the model's own way until 2026-11-27). MFU is achieved FLOPs / peak dense bf16 FLOPs,
with FLOPs from `spanish_llm.model.flops_per_token` (6 N + 12 L H Q T). The peak comes from a table keyed by the
device name (H100 SXM/PCIe, H200, A100), or `--peak-tflops`. Results go to `--out`/mfu.json after every preset, so a
run cut short keeps what it measured. The targets (pretraining issue) are >= 50% MFU at 350m and 1b on one H100.

    python benchmarks/gpu_mfu.py --out results/            # on a GPU machine
    python benchmarks/gpu_mfu.py --sizes 350m --compile model,blocks --sdpa auto,torch --out results/
    python benchmarks/gpu_mfu.py --sizes 350m --rope table,computed --out results/
    python benchmarks/gpu_mfu.py --sizes tiny --seq 64 --batch 2 --steps 2 --compile none   # CPU smoke test
"""
import argparse, contextlib, os, sys, time
from pathlib import Path
# compile each variant afresh, so that no variant reuses a graph (or its warm-up time) cached for another
for _k in ("TORCHINDUCTOR_FX_GRAPH_CACHE", "TORCHINDUCTOR_AUTOGRAD_CACHE"): os.environ.setdefault(_k, "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch
from spanish_llm.core import SpanishLLMError, apply_overrides, atomic_write_json, default_device, environment_info, set_seed
from spanish_llm.model import (RotaryEmbedding, SpanishLLMForCausalLM, config_for_size, count_parameters, flops_per_token,
                               sdpa_backends, sdpa_preference)

# dense bf16 tensor-core peaks (no sparsity), FLOP/s; the first matching name wins
PEAK_BF16 = [("H200", 989.4e12), ("H100 PCIe", 756.5e12), ("H100", 989.4e12), ("GH200", 989.4e12),
             ("A100", 312e12), ("L40S", 362.1e12), ("A10G", 70e12)]
BATCH = {"125m": 16, "350m": 16, "1b": 12, "tiny": 2}   # 1b: 12x2048 fits 80 GB (59.7 GB seen on H100)

def device_name(device: str) -> str:
    mod = getattr(torch, device, None)
    return mod.get_device_name() if mod is not None and hasattr(mod, "get_device_name") else device

def peak_flops(name: str) -> float | None:
    return next((p for k, p in PEAK_BF16 if k.lower() in name.lower()), None)

def synchronize(device: str):
    acc = getattr(torch, "accelerator", None)
    if acc is not None and acc.is_available(): acc.synchronize()
    elif device != "cpu": getattr(torch, device).synchronize()

@torch.no_grad()
def rope_computed(self, x, position_ids=None, start=0):
    "The baseline RoPE: cos and sin computed in every forward pass from the inverse frequencies."
    if position_ids is None: position_ids = torch.arange(start, start + x.shape[1], device=x.device)[None]
    freqs = position_ids[..., None].float() * self.inv_freq.to(x.device)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

@contextlib.contextmanager
def rope_variant(kind: str):
    "`table`: the model as it is; `computed`: with the baseline RoPE."
    if kind == "table": yield; return
    orig, RotaryEmbedding.forward = RotaryEmbedding.forward, rope_computed
    try: yield
    finally: RotaryEmbedding.forward = orig

def measure(size, a, device, peak, compile_mode="blocks", sdpa="auto", rope="table"):
    torch._dynamo.reset()   # nothing compiled under another setting is reused
    with sdpa_preference(device, sdpa), rope_variant(rope):
        return dict(_measure(size, a, device, peak, compile_mode, sdpa), rope=rope)

def _measure(size, a, device, peak, compile_mode, sdpa):
    cfg = config_for_size(size, a.vocab, **{"max_position_embeddings": a.seq, **a.overrides})
    set_seed(0)
    with torch.device(device): model = SpanishLLMForCausalLM(cfg)
    model.train()
    if compile_mode == "blocks":
        for layer in model.model.layers: layer.compile()
    elif compile_mode == "model": model.compile()   # in place, as the trainer does
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device != "cpu")
    b = a.batch or BATCH.get(size, 8)
    x = torch.randint(0, cfg.vocab_size, (b, a.seq), device=device)
    def step():
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            loss = model(input_ids=x, labels=x, use_cache=False).loss
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return loss.detach()
    t0 = time.perf_counter()
    for _ in range(a.warmup): step()
    synchronize(device); compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(a.steps): loss = step()
    synchronize(device); dt = (time.perf_counter() - t0) / a.steps
    tps = b * a.seq / dt
    fpt = flops_per_token(cfg, a.seq)
    r = dict(size=size, params=count_parameters(cfg), batch=b, seq=a.seq, step_s=dt, tokens_per_s=tps,
             flops_per_token=fpt, achieved_tflops=tps * fpt / 1e12, mfu=(tps * fpt / peak) if peak else None,
             overrides=a.overrides, warmup_s=compile_s, loss=loss.item(), compile=compile_mode, sdpa=sdpa,
             sdpa_order=[b.name for b in sdpa_backends(device, sdpa) or []] or "torch's",
             max_memory_gb=(torch.cuda.max_memory_allocated() / 1e9) if device == "cuda" else None)
    del model, opt
    if device == "cuda": torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    return r

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1b,350m,125m")
    ap.add_argument("--vocab", type=int, default=32768, help="as the GPU configs' tokenizers")
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=None, help="micro-batch (default: per size)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--peak-tflops", type=float, default=None, help="override the peak bf16 TFLOP/s")
    ap.add_argument("--compile", default="model", help="model, blocks or none (comma-separated to compare)")
    ap.add_argument("--sdpa", default="auto", help="attention-kernel preference: auto, torch, cudnn, flash, efficient, math (comma-separated to compare)")
    ap.add_argument("--rope", default="table", help="table (the model's) or computed (the baseline) (comma-separated to compare)")
    ap.add_argument("--budget-s", type=float, default=None, help="start no new preset after this many seconds")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="change the preset's shape, e.g. --set num_attention_heads=8 (repeatable)")
    ap.add_argument("--out", default=".", help="folder for mfu.json")
    a = ap.parse_args()
    try: a.overrides = apply_overrides({}, a.set)   # KEY=VALUE, the value read as YAML, as pretrain's --set
    except SpanishLLMError as e: sys.exit(f"--set: {e}")
    start, device = time.perf_counter(), default_device()
    name = device_name(device)
    peak = a.peak_tflops * 1e12 if a.peak_tflops else peak_flops(name)
    print(f"device {device}: {name}; peak bf16 {peak / 1e12 if peak else 'unknown'} TFLOP/s; torch {torch.__version__}", flush=True)
    out = dict(device=device, device_name=name, peak_flops=peak, results=[], environment=environment_info())
    runs = [(s, c, k, r) for s in a.sizes.split(",") for c in a.compile.split(",") for k in a.sdpa.split(",")
            for r in a.rope.split(",")]
    for size, comp, sdpa, rope in runs:
        tag = f"{size} (compile {comp}, sdpa {sdpa}, rope {rope})"
        if comp not in ("model", "blocks", "none"): sys.exit(f"--compile {comp!r}: expected model, blocks or none")
        if rope not in ("table", "computed"): sys.exit(f"--rope {rope!r}: expected table or computed")
        sdpa_backends(device, sdpa)   # a clear error for an unknown choice
        if a.budget_s and time.perf_counter() - start > a.budget_s:
            print(f"{tag}: skipped (budget of {a.budget_s:.0f} s used)", flush=True); continue
        try: r = measure(size, a, device, peak, comp, sdpa, rope)
        except Exception as e:   # report and go on to the next preset
            r = dict(size=size, compile=comp, sdpa=sdpa, rope=rope, error=f"{type(e).__name__}: {e}"[:500])
        out["results"].append(r)
        atomic_write_json(Path(a.out) / "mfu.json", out)
        if "error" in r: print(f"{tag}: error {r['error']}", flush=True)
        else: print(f"{tag}: {r['params'] / 1e6:.0f}M params, batch {r['batch']}x{r['seq']}, {r['tokens_per_s']:,.0f} tok/s, "
                    f"{r['achieved_tflops']:.1f} TFLOP/s, MFU {r['mfu'] * 100 if r['mfu'] else float('nan'):.1f}%, "
                    f"warm-up {r['warmup_s']:.0f} s, mem {r['max_memory_gb'] or 0:.1f} GB", flush=True)
        pair = {b["rope"]: b for b in out["results"] if "error" not in b and (b["size"], b["compile"], b["sdpa"]) == (size, comp, sdpa)}
        if "error" not in r and len(pair) == 2:   # both RoPE variants measured: the ratio against the baseline
            print(f"  rope table / computed: {pair['table']['tokens_per_s'] / pair['computed']['tokens_per_s']:.3f}x tokens/s", flush=True)

if __name__ == "__main__":
    main()
