"""Benchmark: throughput of each `spanish_llm.corpus` stage on the whole ../shared/data/corpus, against plain file reading.

    nice python benchmarks/corpus_prepare.py [--data DIR] [--json OUT]

Every stage runs on the output of the one before it (materialized in memory, so each is timed on its own) and is
measured in CPU seconds of this process (`time.process_time`, all threads), so a busy machine shifts the figures
less than wall time would. Throughput is MB (10^6 bytes) of the corpus's files per CPU second; the ratio is the
stage's throughput divided by the baseline's, measured in the same run: reading every file's bytes and decoding
them as UTF-8, which no reader can beat (repeated 20 times, figures per pass; run again at the end to show
drift). `prepare (end to end)` is `prepare_corpus` with its default configuration (language identification fills in missing labels only; every file here is labelled by its folder) writing the
`datasets` dataset and card.
"""
import argparse, collections, json, os, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SPANISH_LLM_PROGRESS", "0")
from spanish_llm.core import environment_info, shared_data_dir
from spanish_llm.corpus import (CleanConfig, DedupConfig, PrepareConfig, SourceConfig, clean_documents, describe,
                                iter_unique, prepare_corpus, read_corpus)
from spanish_llm.langid import identify_documents


def sources(corpus: Path) -> list[SourceConfig]:
    "The whole corpus folder: Softcatalà's JSON lists keep their text in `content`, everything else is found by walking."
    out = []
    for lang_dir in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for f in sorted(lang_dir.iterdir()):
            out.append(SourceConfig(str(f), text_field="content" if f.suffix == ".json" else "text"))
    return out


def timed(fn):
    "(result, CPU seconds, wall seconds) of fn()."
    c, w = time.process_time(), time.perf_counter()
    r = fn()
    return r, time.process_time() - c, time.perf_counter() - w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="data folder (default: ../shared/data)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    a = ap.parse_args()
    data = Path(a.data) if a.data else shared_data_dir()
    if data is None: sys.exit("no ../shared/data: pass --data")
    corpus = data/"corpus"
    srcs = sources(corpus)
    mb = sum(Path(s.path).stat().st_size for s in srcs) / 1e6
    print(f"corpus: {corpus} ({len(srcs)} files, {mb:.1f} MB)", flush=True)

    def read_all(): return [d for s in srcs for d in read_corpus(s.path, text_field=s.text_field)]
    stages = {}
    def run(name, fn, passes=1):
        r, cpu, wall = timed(fn)
        cpu, wall = cpu / passes, wall / passes
        stages[name] = dict(cpu_s=round(cpu, 4), wall_s=round(wall, 4), mb_per_cpu_s=round(mb / cpu, 2))
        print(f"  {name:<28} {cpu:8.3f} CPU s  {wall:8.3f} wall s", flush=True)
        return r

    def baseline(repeat=20):   # repeated, as one pass takes a few hundredths of a second; figures are per pass
        for _ in range(repeat): texts = [Path(s.path).read_bytes().decode("utf-8") for s in srcs]
        return texts
    run("baseline: read + decode", baseline, 20)
    docs = run("read (read_corpus)", read_all)
    cleaned = run("clean", lambda: list(clean_documents(docs, CleanConfig())))
    run("langid (every document)", lambda: list(identify_documents(cleaned, action="relabel")))
    run("dedup exact", lambda: list(iter_unique(cleaned, DedupConfig(near=False))))
    counts = collections.Counter()
    run("dedup exact + near (MinHash)", lambda: list(iter_unique(cleaned, DedupConfig(), counts)))
    run("describe", lambda: describe(cleaned))
    with tempfile.TemporaryDirectory() as tmp:
        card = run("prepare (end to end)", lambda: prepare_corpus(PrepareConfig(sources=srcs), Path(tmp)/"out"))
    run("baseline again (drift check)", baseline, 20)

    base = stages["baseline: read + decode"]["mb_per_cpu_s"]
    print(f"\n| stage | MB per CPU-second | ratio to plain read |\n|---|--:|--:|")
    for name, s in stages.items():
        s["ratio_to_baseline"] = round(s["mb_per_cpu_s"] / base, 5)
        print(f"| {name} | {s['mb_per_cpu_s']:,.2f} | {s['ratio_to_baseline']:.4f} |")
    print(f"\ndocuments read {len(docs):,}; kept by prepare {card['counts']['kept']:,}; duplicates: "
          f"{counts['exact_duplicates']:,} exact, {counts['near_duplicates']:,} near")
    if a.json:
        Path(a.json).write_text(json.dumps(dict(corpus=str(corpus), mb=mb, documents=len(docs), stages=stages,
                                                counts=card["counts"], environment=environment_info()), indent=1))


if __name__ == "__main__":
    main()
