"The model against transformers' own LlamaForCausalLM, its cache, masks, checkpointing, save/load, export, PEFT and CLI."
import json
import shutil
import pytest
import torch
from conftest import assert_one_line_error
from spanish_llm.core import SpanishLLMError
from spanish_llm.model import (SpanishLLMConfig, SpanishLLMForCausalLM, config_for_size, count_parameters,
                               export_to_llama, load_model, generate_text)
from transformers import AutoConfig, AutoModelForCausalLM, LlamaForCausalLM

V = 97   # a vocabulary size no preset uses

def small_config(**kw):
    base = dict(vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=64, rope_theta=5000.0, rms_norm_eps=1e-6)
    return SpanishLLMConfig(**{**base, **kw})

def randomized(model, seed=0):
    "Perturb every parameter (norm gains too) so that a missed weight shows up in the outputs."
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters(): p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()

@pytest.fixture(scope="module", params=[False, True], ids=["untied", "tied"])
def pair(request, tmp_path_factory):
    "Our model and a LlamaForCausalLM loaded from its Llama export (identical weights)."
    torch.manual_seed(0)
    ours = randomized(SpanishLLMForCausalLM(small_config(tie_word_embeddings=request.param)))
    d = tmp_path_factory.mktemp("pair")
    ours.save_pretrained(d / "ours")
    export_to_llama(d / "ours", d / "llama")
    llama = LlamaForCausalLM.from_pretrained(d / "llama").eval()
    return ours, llama, d

def ids(b=2, t=12, seed=1):
    return torch.randint(0, V, (b, t), generator=torch.Generator().manual_seed(seed))


def test_logits_match_llama(pair):
    ours, llama, d = pair
    cfg = json.loads((d / "llama" / "config.json").read_text())
    assert cfg["model_type"] == "llama" and cfg["architectures"] == ["LlamaForCausalLM"]
    assert cfg["rope_parameters"]["rope_theta"] == 5000.0
    # the same weights, tensor for tensor
    sd_o, sd_l = ours.state_dict(), llama.state_dict()
    assert set(sd_o) == set(sd_l)
    for k in sd_o: assert torch.equal(sd_o[k], sd_l[k]), k
    x = ids()
    with torch.no_grad():
        lo, ll = ours(x).logits, llama(x).logits
    assert ll.abs().max() > 0.1     # not trivially zero
    torch.testing.assert_close(lo, ll, atol=1e-5, rtol=0)
    # the losses agree too
    with torch.no_grad():
        torch.testing.assert_close(ours(x, labels=x).loss, llama(x, labels=x).loss, atol=1e-5, rtol=0)


def test_greedy_generate_matches_llama_and_cache(pair):
    ours, llama, _ = pair
    x = ids(1, 6, seed=2)
    kw = dict(max_new_tokens=20, do_sample=False, pad_token_id=0)
    g = ours.generate(x, **kw)
    assert g.shape == (1, 26)
    assert torch.equal(g, llama.generate(x, **kw))
    assert torch.equal(g, ours.generate(x, use_cache=False, **kw))


def test_padded_batches_match_unpadded(pair):
    ours = pair[0]
    a, b = ids(1, 9, seed=3)[0], ids(1, 5, seed=4)[0]
    with torch.no_grad():
        alone = [ours(s[None]).logits[0] for s in (a, b)]
        for side in ("right", "left"):
            pad = torch.zeros(4, dtype=torch.long)
            bb = torch.cat([b, pad]) if side == "right" else torch.cat([pad, b])
            m = (torch.arange(9) < 5) if side == "right" else (torch.arange(9) >= 4)
            batch, mask = torch.stack([a, bb]), torch.stack([torch.ones(9, dtype=torch.long), m.long()])
            out = ours(batch, attention_mask=mask).logits
            assert torch.isfinite(out).all()
            torch.testing.assert_close(out[0], alone[0], atol=1e-5, rtol=0)
            torch.testing.assert_close(out[1][m], alone[1], atol=1e-5, rtol=0)
    # left-padded batched generation continues each sequence as it would alone
    kw = dict(max_new_tokens=6, do_sample=False, pad_token_id=0)
    batch = torch.stack([a, torch.cat([torch.zeros(4, dtype=torch.long), b])])
    mask = torch.stack([torch.ones(9, dtype=torch.long), (torch.arange(9) >= 4).long()])
    g = ours.generate(batch, attention_mask=mask, **kw)
    assert torch.equal(g[0, 9:], ours.generate(a[None], **kw)[0, 9:])
    assert torch.equal(g[1, 9:], ours.generate(b[None], **kw)[0, 5:])
    # the same with a fixed-size (static) cache, for which generate builds 4-D masks itself
    assert torch.equal(g, ours.generate(batch, attention_mask=mask, cache_implementation="static", **kw))


def test_cache_matches_full_forward(pair):
    ours = pair[0]
    x = ids(2, 10, seed=5)
    with torch.no_grad():
        full = ours(x).logits
        out = ours(x[:, :7], use_cache=True)
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        assert cache.get_seq_length() == 7
        step = ours(x[:, 7:], cache=cache, use_cache=True).logits     # 3 new tokens after a cache
    torch.testing.assert_close(step, full[:, 7:], atol=1e-5, rtol=0)


def test_gradient_checkpointing_same_gradients():
    torch.manual_seed(0)
    m = randomized(SpanishLLMForCausalLM(small_config(qk_norm=True))).train()
    x = ids(2, 16, seed=6)
    def grads():
        m.zero_grad(); m(x, labels=x).loss.backward()
        return {n: p.grad.clone() for n, p in m.named_parameters()}
    plain = grads()
    m.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    assert m.model.gradient_checkpointing
    ckpt = grads()
    assert len(plain) == len(ckpt) and all(g.abs().sum() > 0 for g in plain.values())
    for n in plain: torch.testing.assert_close(ckpt[n], plain[n], atol=1e-6, rtol=1e-5)


def test_save_load_roundtrip_and_registration(tmp_path):
    torch.manual_seed(0)
    m = randomized(SpanishLLMForCausalLM(small_config(qk_norm=True)))
    m.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").exists() and not list((tmp_path / "m").glob("*.bin"))
    assert AutoConfig.from_pretrained(tmp_path / "m").model_type == "spanish_llm"
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "m").eval()
    assert type(again) is SpanishLLMForCausalLM and again.config.qk_norm
    for (k, a), (k2, b) in zip(m.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    x = ids()
    with torch.no_grad(): assert torch.equal(m(x).logits, again(x).logits)


def test_exported_llama_roundtrip_is_exact(pair):
    ours, _, d = pair
    from safetensors.torch import load_file
    a = load_file(d / "ours" / "model.safetensors"); b = load_file(d / "llama" / "model.safetensors")
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_peft_lora_forward_backward():
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    m = SpanishLLMForCausalLM(small_config())
    lora = peft.get_peft_model(m, peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    trainable = [n for n, p in lora.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    x = ids()
    loss = lora(input_ids=x, labels=x).loss
    loss.backward()
    assert all(p.grad is not None for n, p in lora.named_parameters() if "lora_B" in n)
    assert all(p.grad is None for n, p in lora.named_parameters() if not p.requires_grad)


def test_bad_inputs(tmp_path):
    with pytest.raises(SpanishLLMError, match=r"num_attention_heads=5 does not divide hidden_size=64"):
        small_config(num_attention_heads=5)
    with pytest.raises(SpanishLLMError, match=r"num_key_value_heads=3 does not divide num_attention_heads=4"):
        small_config(num_key_value_heads=3)
    with pytest.raises(SpanishLLMError, match=r"rope_theta=-1.0: expected a positive"): small_config(rope_theta=-1.0)
    with pytest.raises(SpanishLLMError, match=r"rms_norm_eps=0: expected a small positive"): small_config(rms_norm_eps=0)
    with pytest.raises(SpanishLLMError, match=r"unknown model size 'medium'.*expected one of tiny, 125m, 350m, 1b, 2b, 7b, 40b"):
        config_for_size("medium", V)
    m = SpanishLLMForCausalLM(small_config())
    with pytest.raises(SpanishLLMError, match=r"sequence of 65 tokens is longer than the model's context: expected at most max_position_embeddings=64"):
        m(ids(1, 65))
    m.save_pretrained(tmp_path / "m")
    with pytest.raises(SpanishLLMError, match="no such model folder"):
        load_model(tmp_path / "missing")
    # a checkpoint whose shapes do not match its config
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**cfg, "hidden_size": 32, "num_attention_heads": 2, "num_key_value_heads": 1}))
    with pytest.raises(SpanishLLMError, match=r"has shape \[.*\]: expected \[.*\] from .*config.json"):
        load_model(tmp_path / "m")


def test_tiny_preset_size():
    c = config_for_size("tiny", 2000)
    assert 0.8e6 < count_parameters(c) < 1.3e6
    assert count_parameters(SpanishLLMForCausalLM(c)) == count_parameters(c)


# ---- command line -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_with_tokenizer(tmp_path_factory):
    "A tiny model folder with a word-level tokenizer built on the spot with the `tokenizers` library."
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    text = ["el gato come pescado y la gata bebe leche", "o can come carne e a gata bebe auga",
            "katua arraina jaten du eta txakurra ura edaten du", "el gos menja carn i la gata beu llet"]
    tok.train_from_iterator(text, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[EOS]"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]")
    d = tmp_path_factory.mktemp("cli") / "m"
    torch.manual_seed(0)
    m = randomized(SpanishLLMForCausalLM(small_config(vocab_size=len(fast), pad_token_id=0, eos_token_id=2)), seed=3)
    m.save_pretrained(d); fast.save_pretrained(d)
    return d, m, fast


def test_cli_generate_streams_greedy_text(run_cli, model_with_tokenizer):
    d, m, tok = model_with_tokenizer
    r = run_cli("generate", "--model", d, "--prompt", "el gato come", "--max-new-tokens", "8", "--seed", "1", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    want = generate_text(m, tok, "el gato come", max_new_tokens=8)
    assert want.strip()
    assert r.stdout.startswith("el gato come")
    assert " ".join(r.stdout[len("el gato come"):].split()) == " ".join(want.split())


def test_cli_export_and_errors(run_cli, model_with_tokenizer, tmp_path):
    d, m, _ = model_with_tokenizer
    r = run_cli("export", "--to", "llama", d, tmp_path / "llama")
    assert r.returncode == 0, r.stderr
    llama = LlamaForCausalLM.from_pretrained(tmp_path / "llama").eval()
    assert (tmp_path / "llama" / "tokenizer.json").exists()
    x = ids(1, 8) % m.config.vocab_size
    with torch.no_grad(): torch.testing.assert_close(llama(x).logits, m(x).logits, atol=1e-5, rtol=0)
    # QK-norm has no Llama equivalent: refused, and nothing written
    SpanishLLMForCausalLM(small_config(qk_norm=True)).save_pretrained(tmp_path / "qk")
    r = run_cli("export", "--to", "llama", tmp_path / "qk", tmp_path / "qk-llama")
    assert_one_line_error(r, "qk_norm=True", "LlamaForCausalLM")
    assert not (tmp_path / "qk-llama").exists()
    # a corrupt safetensors file, then a missing one
    (tmp_path / "qk" / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    assert_one_line_error(run_cli("generate", "--model", tmp_path / "qk", "--prompt", "x"), "model.safetensors", "corrupt")
    (tmp_path / "qk" / "model.safetensors").unlink()
    assert_one_line_error(run_cli("export", "--to", "llama", tmp_path / "qk", tmp_path / "o"), "no *.safetensors")


def test_cli_takes_a_training_run(run_cli, model_with_tokenizer, tmp_path):
    "A run folder (or its `latest`) stands for its newest checkpoint; the export leaves optimizer and RNG states behind."
    d, m, _ = model_with_tokenizer
    run = tmp_path / "run"; shutil.copytree(d, run / "ckpt-7"); (run / "latest").write_text("ckpt-7\n")
    for f in ("training_state.pt", "rng-0.pt", "manifest.json"): (run / "ckpt-7" / f).write_bytes(b"run state")
    r = run_cli("export", "--to", "llama", run, tmp_path / "llama")
    assert r.returncode == 0, r.stderr
    names = {f.name for f in (tmp_path / "llama").iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    assert not names & {"training_state.pt", "rng-0.pt", "manifest.json"}, names
    a = run_cli("generate", "--model", run / "latest", "--prompt", "Kaixo", "--max-new-tokens", "5")
    b = run_cli("generate", "--model", d, "--prompt", "Kaixo", "--max-new-tokens", "5")
    assert a.returncode == 0 and a.stdout == b.stdout, (a.stderr, a.stdout, b.stdout)
    assert_one_line_error(run_cli("export", tmp_path / "nowhere", tmp_path / "x"), "nowhere", "no such model folder")


def test_cli_generate_bad_settings_fail_before_any_output(run_cli, model_with_tokenizer):
    "Each bad setting is one error line, with nothing streamed first (not even the prompt)."
    d, m, _ = model_with_tokenizer
    cases = [(["--max-new-tokens", "0"], ["max_new_tokens=0", "expected a positive"]),
             (["--max-new-tokens", "62"], ["prompt (3 tokens)", "max_new_tokens=62", "max_position_embeddings=64"]),
             (["--temperature", "-1"], ["temperature=-1.0"]),
             (["--device", "nonsense"], ["--device 'nonsense'"]),
             (["--prompt", ""], ["the prompt is empty"])]             # a word-level tokenizer adds no BOS
    for extra, needles in cases:
        r = run_cli("generate", "--model", d, "--prompt", "el gato come", *extra)
        assert_one_line_error(r, *needles)
        assert r.stdout == "", (extra, r.stdout)


def test_cli_generate_tokenizer_of_another_model(run_cli, model_with_tokenizer, tmp_path):
    "A tokenizer with ids the model does not have: one clear line, not an IndexError."
    d, _, tok = model_with_tokenizer
    SpanishLLMForCausalLM(small_config(vocab_size=4)).save_pretrained(tmp_path / "m"); tok.save_pretrained(tmp_path / "m")
    assert_one_line_error(run_cli("generate", "--model", tmp_path / "m", "--prompt", "katua arraina"),
                          "vocab_size is 4", "tokenizer")


def test_checkpoint_with_more_layers_than_its_config(run_cli, tmp_path):
    "Weights the config does not describe are an error, not silently dropped; a bad config names its file."
    SpanishLLMForCausalLM(small_config(num_hidden_layers=3)).save_pretrained(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**cfg, "num_hidden_layers": 2}))
    assert_one_line_error(run_cli("export", tmp_path / "m", tmp_path / "o"), "model.safetensors",
                          "model.layers.2.", "not part of the model", "config.json")
    (tmp_path / "m" / "config.json").write_text(json.dumps({**cfg, "num_key_value_heads": 3}))
    assert_one_line_error(run_cli("export", tmp_path / "m", tmp_path / "o"), "config.json: num_key_value_heads=3")
    assert not (tmp_path / "o").exists()


def test_config_for_size_rejects_unknown_settings():
    with pytest.raises(SpanishLLMError, match=r"unknown model size '7B' \(did you mean '7b'\?\)"):
        config_for_size("7B", V)
    with pytest.raises(SpanishLLMError, match=r"unknown model setting 'qk_nrom' \(did you mean 'qk_norm'\?\)"):
        config_for_size("tiny", V, qk_nrom=True)
    assert config_for_size("tiny", V, qk_norm=True, rope_theta=5e5, eos_token_id=2).qk_norm


def test_lm_eval_scores_our_model(model_with_tokenizer):
    "lm-eval's HF backend loads the folder (our registration) and its log-likelihoods are the model's own."
    pytest.importorskip("lm_eval")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM
    d, m, tok = model_with_tokenizer
    lm = HFLM(pretrained=str(d), tokenizer=tok, batch_size=2, device="cpu")
    assert type(lm.model) is SpanishLLMForCausalLM
    got = lm.loglikelihood([Instance("loglikelihood", {}, ("el gato", " come pescado"), 0)])[0][0]
    ids = tok("el gato come pescado", add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad(): lp = torch.log_softmax(m(ids).logits[0].float(), -1)
    want = (lp[1, ids[0, 2]] + lp[2, ids[0, 3]]).item()
    assert abs(got - want) < 1e-4, (got, want)
