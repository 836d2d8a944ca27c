"""Tokens for pretraining: packing loses nothing, the mixture follows its weights, bad input is named."""
import collections, json
from pathlib import Path
import numpy as np
import pytest
from conftest import assert_one_line_error
from spanish_llm.core import sample_dir
from spanish_llm.data import (DataConfig, MixtureSampler, TokenShards, load_documents, load_hf_tokenizer,
                              mixture_weights, open_mixture, prepare_tokens)
from spanish_llm.tokenizer import TokenizerConfig, train_tokenizer

CORPUS = str(sample_dir()/"corpus")


@pytest.fixture(scope="session")
def tiny_tok(tmp_path_factory) -> Path:
    "A 512-token tokenizer trained on the bundled sample corpus."
    return train_tokenizer([CORPUS], TokenizerConfig(vocab_size=512), tmp_path_factory.mktemp("tok")/"tok")


@pytest.fixture(scope="session")
def tokens(tmp_path_factory, tiny_tok) -> Path:
    out = tmp_path_factory.mktemp("tokens")/"tokens"
    prepare_tokens(DataConfig(corpus=[CORPUS], tokenizer=str(tiny_tok), seq_len=48, val_fraction=0.1, num_proc=2), out)
    return out


def test_packing_is_lossless_and_separates_documents(tokens, tiny_tok):
    tok = load_hf_tokenizer(tiny_tok)
    docs = load_documents(DataConfig(corpus=[CORPUS]))
    want = collections.defaultdict(list)   # lang -> token lists of its documents, in corpus order
    for text, lang in zip(docs["text"], docs["lang"]): want[lang].append(tok(text, add_special_tokens=False)["input_ids"])
    sh = TokenShards(tokens)
    idx = sh.index
    assert idx["dtype"] == "uint16" and idx["vocab_size"] == 512
    eos = idx["eos_id"]
    for lang, docs_ids in want.items():
        got = []
        for split in ("train", "val"):
            if lang not in idx["splits"][split]: continue
            info = idx["splits"][split][lang]
            rows = np.concatenate([np.fromfile(tokens/s["file"], dtype=idx["dtype"]) for s in info["shards"]])
            assert len(rows) == info["n_seqs"] * idx["seq_len"]
            flat = rows[:info["n_tokens"]].tolist()
            assert all(t == eos for t in rows[info["n_tokens"]:].tolist())       # only eos padding after the end
            assert flat[-1] == eos                                               # every document ends with eos
            cuts = [i for i, t in enumerate(flat) if t == eos]
            segs = [flat[a + 1:b] for a, b in zip([-1] + cuts[:-1], cuts)]
            assert len(segs) == info["n_docs"]
            got += segs
        # every document is there exactly once, whole, with an eos after it
        assert sorted(map(tuple, got)) == sorted(map(tuple, docs_ids)), lang
        assert idx["splits"]["val"][lang]["n_docs"] >= 1


def test_fingerprints_recorded(tokens, tiny_tok):
    idx = json.loads((tokens/"index.json").read_text())
    assert len(idx["tokenizer"]["fingerprint"]) == 16 and len(idx["corpus"]["fingerprint"]) == 16
    assert idx["environment"]["packages"]["datasets"]


def test_mixture_realized_proportions_match_weights(tokens):
    w = {"es": 0.5, "eu": 0.3, "gl": 0.2}
    sh, sm = open_mixture(tokens, DataConfig(weights=w), seed=3)
    picks = sm.draw(2000)
    c = collections.Counter(l for l, _ in picks)
    for l, p in w.items(): assert abs(c[l] / 2000 - p) <= 1 / 2000, (l, c)
    # alpha over sizes: uniform at 0, proportional to tokens at 1
    sizes = {l: s["n_tokens"] for l, s in sh.index["splits"]["train"].items()}
    p1 = mixture_weights(sizes, alpha=1.0)
    _, sm1 = open_mixture(tokens, DataConfig(alpha=1.0))
    c1 = collections.Counter(l for l, _ in sm1.draw(3000))
    for l in sizes: assert abs(c1[l] / 3000 - p1[l]) <= 2 / 3000
    # deterministic for a seed, different for another; the state resumes the stream
    _, a = open_mixture(tokens, DataConfig(weights=w), seed=3)
    _, b = open_mixture(tokens, DataConfig(weights=w), seed=4)
    assert a.draw(2000) == picks and b.draw(2000) != picks
    _, r = open_mixture(tokens, DataConfig(weights=w), seed=3)
    r.draw(777); st = r.state_dict()
    _, r2 = open_mixture(tokens, DataConfig(weights=w), seed=3); r2.load_state_dict(json.loads(json.dumps(st)))
    assert r2.draw(500) == picks[777:1277]


def test_data_cli_prepare_and_info(run_cli, tmp_path, tiny_tok):
    two = ("--corpus", str(Path(CORPUS)/"eu.txt"), "--corpus", str(Path(CORPUS)/"gl.txt"), "--tokenizer", tiny_tok, "--seq-len", 32)
    # a mixture weight for a language the corpus lacks is refused before anything is written
    assert_one_line_error(run_cli("data", "prepare", *two, "--out", tmp_path/"t", "--set", "weights={eu: 1, es: 1}"),
                          "data.weights", "'es' has no training tokens")
    assert not (tmp_path/"t").exists()
    r = run_cli("data", "prepare", *two, "--out", tmp_path/"t", "--set", "weights={eu: 3, gl: 1}")
    assert r.returncode == 0, r.stderr
    assert "| train | eu |" in r.stdout and "| val | gl |" in r.stdout
    assert "| 0.750 |" in r.stdout and "| 0.250 |" in r.stdout          # the mixture these weights give
    assert json.loads((tmp_path/"t"/"index.json").read_text())["mixture"] == {"eu": 0.75, "gl": 0.25}
    r = run_cli("data", "info", tmp_path/"t")
    assert r.returncode == 0 and "| train | gl |" in r.stdout
    assert_one_line_error(run_cli("data", "prepare", "--corpus", CORPUS, "--tokenizer", tiny_tok, "--out", tmp_path/"t"),
                          "already exists")


def test_bad_input(run_cli, tmp_path, tiny_tok):
    assert_one_line_error(run_cli("data", "prepare", "--corpus", CORPUS, "--tokenizer", tmp_path/"nope", "--out", tmp_path/"a"),
                          "nope", "tokenizer not found")
    assert_one_line_error(run_cli("data", "prepare", "--corpus", tmp_path/"nocorpus", "--tokenizer", tiny_tok, "--out", tmp_path/"b"),
                          "nocorpus", "corpus not found")
    assert_one_line_error(run_cli("data", "prepare", "--corpus", CORPUS, "--tokenizer", tiny_tok, "--out", tmp_path/"c",
                                  "--set", "seq_lenn=5"), "seq_lenn", "did you mean 'seq_len'")
    assert not (tmp_path/"a").exists() and not (tmp_path/"b").exists()


def _big_vocab_tokenizer(path: Path, n: int = 70_000) -> Path:
    "A word-level tokenizer with `n` entries whose real words have ids above 65,535."
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    words = sorted({w for t in (Path(CORPUS)/"eu.txt").read_text().split() for w in [t]})[:2000]
    vocab = {f"<filler{i}>": i for i in range(n - len(words) - 2)}
    vocab.update({w: len(vocab) + i for i, w in enumerate(words)})
    vocab["<unk>"], vocab["</s>"] = len(vocab), len(vocab) + 1
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="</s>", unk_token="<unk>").save_pretrained(str(path))
    return path


def test_vocab_too_big_for_dtype(tmp_path):
    big = _big_vocab_tokenizer(tmp_path/"big")
    cfg = DataConfig(corpus=[str(Path(CORPUS)/"eu.txt")], tokenizer=str(big), seq_len=64, dtype="uint16")
    with pytest.raises(Exception, match="holds 65,536 token ids but the tokenizer has 70,000"):
        prepare_tokens(cfg, tmp_path/"t16")
    assert not (tmp_path/"t16").exists()
    idx = prepare_tokens(DataConfig(**{**cfg.__dict__, "dtype": "auto"}), tmp_path/"t32")
    assert idx["dtype"] == "uint32"
    row, _ = TokenShards(tmp_path/"t32").row("train", "eu", 0)
    assert row.max() > 65535                     # ids above uint16 survive storage
