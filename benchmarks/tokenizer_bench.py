"""Tokenizer benchmark: the targets of the tokenizer issue, measured against baselines in the same run.

    nice python benchmarks/tokenizer_bench.py [--vocab-size 32000] [--alpha 0.3] [--json results.json]

Trains our tokenizer on ../shared/data/corpus (about 24 MB in es, ca, eu, gl, en), then measures:
- training time (wall clock, including reading the corpus), target: under 60 s on 2 cores;
- encoding speed in MB/s on one core (one text at a time, no batching threads) for ours and for Llama-2's
  SentencePiece on the same text, target: ours at least 1 MB/s per core;
- fertility (tokens per whitespace word) on FLORES-200 dev per language for ours, Llama-2, Mistral v3 and GPT-2,
  targets: ours below Llama-2 and Mistral v3 in each of es, ca, gl, eu; Basque/Spanish fertility ratio <= 1.35.
Prints every figure, each target and whether it is met; exits 0 either way (a benchmark reports, it does not fail).
"""
from __future__ import annotations
import argparse, gzip, json, os, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SPANISH_LLM_PROGRESS", "0")
for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"): os.environ.setdefault(k, "1")

from spanish_llm.core import atomic_write_json, environment_info, shared_data_dir   # noqa: E402
from spanish_llm.tokenizer import TokenizerConfig, train_tokenizer                   # noqa: E402
from spanish_llm.tokenizer_eval import evaluate_tokenizers, load_any_tokenizer       # noqa: E402

LANGS = ("es", "ca", "gl", "eu")
FLORES = dict(es="spa", ca="cat", eu="eus", gl="glg", en="eng")


def encode_speed(tok, lines: list[str], min_seconds: float = 2.0) -> float:
    "MB/s encoding `lines` one at a time on one core (repeated until `min_seconds` have passed)."
    nbytes = sum(len(l.encode("utf-8")) for l in lines)
    n, t0 = 0, time.perf_counter()
    while True:
        for l in lines: tok.encode(l)
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_seconds: return n * nbytes / dt / 1e6


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--alpha", type=float, default=0.3)
    ap.add_argument("--json", default=None, help="also write every figure here")
    a = ap.parse_args(argv)
    data = shared_data_dir(required=True)
    t = data/"tokenizers"
    refs = {"llama2": t/"llama2/tokenizer.model", "mistral-v3": t/"mistral/mistral_instruct_tokenizer_240323.model.v3",
            "gpt2": t/"gpt2"}
    flores = {l: data/f"parallel/flores200-dev/{c}_Latn.dev.gz" for l, c in FLORES.items()}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = train_tokenizer([data/"corpus"], TokenizerConfig(vocab_size=a.vocab_size, alpha=a.alpha), Path(tmp)/"ours")
        train_wall = time.perf_counter() - t0
        rec = json.loads((out/"train_record.json").read_text())
        ours = load_any_tokenizer(out, "ours")
        loaded = {"ours": ours, **{n: load_any_tokenizer(p, n) for n, p in refs.items()}}
        res = evaluate_tokenizers(loaded, flores)
        # encoding speed: 2 MB of the training corpus's text plus FLORES, one line at a time, one core
        text = [l for l in (data/"corpus/es/quijote.txt").read_text(encoding="utf-8").splitlines() if l.strip()][:6000]
        for l in FLORES:
            with gzip.open(flores[l], "rt", encoding="utf-8") as f: text += f.read().splitlines()
        speed = {"ours": encode_speed(ours, text), "llama2": encode_speed(loaded["llama2"], text)}

    m = res["metrics"]
    fert = {n: {l: m[n][l]["fertility"] for l in FLORES} for n in m}
    ratio = {n: fert[n]["eu"] / fert[n]["es"] for n in fert}
    mb = sum(rec["corpus"]["bytes"].values()) / 1e6
    print(f"# Tokenizer benchmark: vocab {rec['vocab_size']:,}, alpha {a.alpha}, corpus {mb:.1f} MB "
          f"({', '.join(f'{l} {b / 1e6:.1f}' for l, b in rec['corpus']['bytes'].items())}), {cores} cores\n")
    print("| language | sampled share |\n|---|---:|")
    for l, v in rec["mix"].items(): print(f"| {l} | {v['drawn_share']:.3f} |")
    print("\nFLORES-200 dev fertility (tokens per word):\n")
    print("| tokenizer | " + " | ".join(FLORES) + " | eu/es |\n|---|" + "---:|" * (len(FLORES) + 1))
    for n in fert: print(f"| {n} | " + " | ".join(f"{fert[n][l]:.3f}" for l in FLORES) + f" | {ratio[n]:.3f} |")
    print(f"\ntraining: {train_wall:.1f} s wall ({rec['train_seconds']:.1f} s BPE) on {cores} cores for {mb:.1f} MB")
    print(f"encoding, one core: ours {speed['ours']:.2f} MB/s, Llama-2 SentencePiece {speed['llama2']:.2f} MB/s "
          f"(ratio {speed['ours'] / speed['llama2']:.2f})\n")
    targets = []
    for l in LANGS:
        for ref in ("llama2", "mistral-v3"):
            targets.append((f"fertility {l}: ours {fert['ours'][l]:.3f} < {ref} {fert[ref][l]:.3f}", fert["ours"][l] < fert[ref][l]))
    targets += [(f"eu/es fertility ratio {ratio['ours']:.3f} <= 1.35 (llama2 {ratio['llama2']:.2f})", ratio["ours"] <= 1.35),
                (f"training {train_wall:.1f} s < 60 s on {cores} cores ({mb:.1f} MB)", train_wall < 60),
                (f"encoding {speed['ours']:.2f} MB/s per core >= 1 MB/s", speed["ours"] >= 1.0)]
    print("| target | met |\n|---|---|")
    for name, ok in targets: print(f"| {name} | {'yes' if ok else 'NO'} |")
    print(f"\n{sum(ok for _, ok in targets)}/{len(targets)} targets met")
    if a.json:
        atomic_write_json(a.json, dict(vocab_size=rec["vocab_size"], alpha=a.alpha, train_wall_seconds=train_wall,
                                       train_bpe_seconds=rec["train_seconds"], corpus_bytes=rec["corpus"]["bytes"],
                                       mix=rec["mix"], encode_mb_per_s_one_core=speed, fertility=fert, eu_es_ratio=ratio,
                                       targets={n: ok for n, ok in targets}, evaluation=res, environment=environment_info()))


if __name__ == "__main__": main()
