"""Integration and end-to-end tests of `spanish_llm.corpus`: every reader format, the bundled sample corpus, the real
corpora in ../shared/data, cleaning, deduplication, the corpus card, `spanish-llm corpus stats|prepare` and bad input."""
import gzip, json, os, re
from pathlib import Path
import pytest
from conftest import assert_one_line_error
from spanish_llm.core import SpanishLLMError, sample_dir
from spanish_llm.corpus import (CleanConfig, DedupConfig, Document, PrepareConfig, SourceConfig, card_markdown,
                                clean_text, deduplicate, describe, prepare_corpus, read_corpus)

PROJECT = ("es", "ca", "eu", "gl")
FLORES = dict(es="spa", ca="cat", eu="eus", gl="glg", en="eng", pt="por")


def sample_paragraphs(lang):
    "The sample corpus file's paragraphs, counted independently of the reader."
    text = (sample_dir()/"corpus"/f"{lang}.txt").read_text(encoding="utf-8")
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def flores(shared_data, lang, n=None):
    with gzip.open(shared_data/"parallel/flores200-dev"/f"{FLORES[lang]}_Latn.dev.gz", "rt", encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip()]
    return lines[:n] if n else lines


# ---------------------------------------------------------------------------------------------- the sample corpus

def test_sample_corpus_is_read_per_language():
    docs = list(read_corpus(sample_dir()/"corpus"))
    st = describe(docs)
    assert list(st) == ["es", "ca", "eu", "gl", "en", "total"]
    for lang in (*PROJECT, "en"):
        assert st[lang]["documents"] == len(sample_paragraphs(lang)), lang
    for lang in PROJECT:                                   # the issue asks for at least 50 KB of prose each
        assert st[lang]["bytes"] >= 50_000, (lang, st[lang])
        assert st[lang]["words"] > 5_000
    assert st["total"]["documents"] == len(docs)
    assert len({d.id for d in docs}) == len(docs)          # ids are unique ...
    assert [d.id for d in read_corpus(sample_dir()/"corpus")] == [d.id for d in docs]   # ... and stable


def test_sample_parallel_is_aligned():
    docs = list(read_corpus(sample_dir()/"parallel"))
    by = {l: [d for d in docs if d.lang == l] for l in (*PROJECT, "en")}
    assert {l: len(v) for l, v in by.items()} == {l: 130 for l in by}


# --------------------------------------------------------------------------------------------- every reader format

RECS = [{"text": "Gaur goizean euria egin du Donostian eta kaleak bustita daude.", "lang": "eu"},
        {"text": "Avui ha plogut a Girona tot el matí i els carrers són molls."},
        {"text": None},                                    # a null text is skipped
        {"text": "O porto de Vigo é un dos máis importantes de Europa.", "language": "galego"}]
WANT = [(RECS[0]["text"], "eu"), (RECS[1]["text"], None), (RECS[3]["text"], "gl")]


def table(recs):
    "A pyarrow table with every field of `recs` (`from_pylist` would take the fields of the first record only)."
    import pyarrow as pa
    return pa.table({k: [r.get(k) for r in recs] for k in ("text", "lang", "language")})


@pytest.fixture
def formats(tmp_path):
    "The same records in every format the readers accept."
    import pyarrow as pa, pyarrow.parquet as pq
    d = tmp_path/"fmt"; d.mkdir()
    (d/"r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECS), encoding="utf-8")
    (d/"r.ndjson").write_text((d/"r.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    (d/"r.json").write_text(json.dumps(RECS, indent=1), encoding="utf-8")
    (d/"seq.json").write_text((d/"r.jsonl").read_text(encoding="utf-8"), encoding="utf-8")  # JSON Lines named .json
    pq.write_table(table(RECS), d/"r.parquet")
    for n in ("r.jsonl", "r.json", "r.parquet"): (d/f"{n}.gz").write_bytes(gzip.compress((d/n).read_bytes()))
    return d


@pytest.mark.parametrize("name", ["r.jsonl", "r.ndjson", "r.json", "seq.json", "r.parquet",
                                  "r.jsonl.gz", "r.json.gz", "r.parquet.gz"])
def test_record_formats(formats, name):
    docs = list(read_corpus(formats/name))
    assert [(d.text, d.lang) for d in docs] == WANT
    assert all(d.source == str(formats/name) and len(d.id) == 16 for d in docs)


def test_record_formats_with_another_text_field(tmp_path):
    import pyarrow as pa, pyarrow.parquet as pq
    recs = [{"content": "Bon dia a tothom.", "title": "x"}]
    pq.write_table(pa.Table.from_pylist(recs), tmp_path/"c.parquet")
    (tmp_path/"c.json").write_text(json.dumps(recs))
    for p in (tmp_path/"c.parquet", tmp_path/"c.json"):
        assert [d.text for d in read_corpus(p, text_field="content")] == ["Bon dia a tothom."]
        with pytest.raises(SpanishLLMError, match="no (field|column) 'text'"):
            list(read_corpus(p))


def test_plain_text_modes(tmp_path):
    lines = "Primera frase.\nSegona frase.\n\nTercera frase,\nen dues línies.\n"
    (tmp_path/"par.txt").write_text(lines, encoding="utf-8")
    (tmp_path/"one.txt").write_text("Lehen esaldia.\nBigarren esaldia.\n\n\n", encoding="utf-8")
    (tmp_path/"par.txt.gz").write_bytes(gzip.compress(lines.encode()))
    auto = [d.text for d in read_corpus(tmp_path/"par.txt")]
    assert auto == ["Primera frase.\nSegona frase.", "Tercera frase,\nen dues línies."]
    assert [d.text for d in read_corpus(tmp_path/"par.txt.gz")] == auto
    assert len(list(read_corpus(tmp_path/"par.txt", mode="line"))) == 4
    assert [d.text for d in read_corpus(tmp_path/"par.txt", mode="paragraph")] == auto
    assert [d.text for d in read_corpus(tmp_path/"one.txt")] == ["Lehen esaldia.", "Bigarren esaldia."]  # auto: lines


def test_folders_globs_and_language_from_paths(tmp_path):
    for lang, folder in [("eu", "euskara"), ("gl", "gl"), ("ca", "valencià")]:
        (tmp_path/"c"/folder).mkdir(parents=True)
        (tmp_path/"c"/folder/"a.txt").write_text(f"text {lang} one\ntext {lang} two\n", encoding="utf-8")
    (tmp_path/"c"/"spa_Latn.dev.gz").write_bytes(gzip.compress(b"Hola.\n"))
    (tmp_path/"c"/"README.md").write_text("not part of the corpus")
    (tmp_path/"c"/".hidden.txt").write_text("hidden")
    docs = list(read_corpus(tmp_path/"c"))
    assert sorted({(d.lang, d.text.split()[1] if d.lang != "es" else "es") for d in docs}) == \
        [("ca", "ca"), ("es", "es"), ("eu", "eu"), ("gl", "gl")]
    assert len(docs) == 7
    globbed = list(read_corpus(f"{tmp_path}/c/**/*.txt"))
    assert len(globbed) == 6 and {d.lang for d in globbed} == {"eu", "gl", "ca"}
    assert {d.lang for d in read_corpus(tmp_path/"c", lang="castellano")} == {"es"}   # the caller's label wins


def test_datasets_saved_and_hf_local_folder(tmp_path):
    import datasets, pyarrow.parquet as pq
    datasets.disable_progress_bars()
    recs = [r for r in RECS if r["text"]]
    datasets.Dataset(table(recs)).save_to_disk(str(tmp_path/"saved"))
    datasets.DatasetDict(train=datasets.Dataset(table(recs)),
                         validation=datasets.Dataset(table(recs[:1]))).save_to_disk(str(tmp_path/"dict"))
    (tmp_path/"hub"/"data").mkdir(parents=True)
    pq.write_table(table(recs), tmp_path/"hub"/"data"/"train.parquet")
    assert [(d.text, d.lang) for d in read_corpus(tmp_path/"saved")] == WANT
    dd = list(read_corpus(tmp_path/"dict"))
    assert [d.source.rsplit("/", 1)[1] for d in dd] == ["train"] * 3 + ["validation"]
    assert [(d.text, d.lang) for d in read_corpus(f"hf:{tmp_path}/hub")] == WANT
    assert [(d.text, d.lang) for d in read_corpus(f"hf:{tmp_path}/hub@train")] == WANT


def test_hub_id_offline_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(SpanishLLMError, match="hf:orai-nlp/basqueGLUE:bhtc@validation: cannot load this dataset"):
        list(read_corpus("hf:orai-nlp/basqueGLUE:bhtc@validation"))


# ------------------------------------------------------------------------------------------------- the real data

def test_real_corpora_formats(shared_data):
    c = shared_data/"corpus"
    ca = list(read_corpus(c/"ca/articles.json", text_field="content"))         # Softcatalà: JSON list, field content
    assert len(ca) > 500 and {d.lang for d in ca} == {"ca"}
    eu = list(read_corpus(c/"eu/basqueglue_bhtc_train.jsonl"))                  # BasqueGLUE: JSON Lines
    assert len(eu) > 1000 and {d.lang for d in eu} == {"eu"}
    for lang in FLORES:                                                         # FLORES: gzip text, named by language
        docs = list(read_corpus(shared_data/"parallel/flores200-dev"/f"{FLORES[lang]}_Latn.dev.gz"))
        assert len(docs) == 997 and {d.lang for d in docs} == {lang}
        assert [d.text for d in docs] == flores(shared_data, lang)
    ud = describe(read_corpus(f"{c}/*/*-ud-*.txt"))                             # a glob across language folders
    assert set(ud) == {*PROJECT, "total"}
    lines = sum(1 for p in c.glob("*/*-ud-*.txt") for l in p.read_text(encoding="utf-8").splitlines() if l.strip())
    assert ud["total"]["documents"] == lines
    quijote = list(read_corpus(c/"es/quijote.txt"))                             # a book: paragraphs
    assert 1000 < len(quijote) and all("\n\n" not in d.text for d in quijote)


# ---------------------------------------------------------------------------------------------------- cleaning

def test_cleaning_repairs_real_text(shared_data):
    import unicodedata
    sents = flores(shared_data, "ca", 100) + flores(shared_data, "gl", 100) + flores(shared_data, "eu", 100)
    repaired = 0
    for s in sents:
        messy = "  " + unicodedata.normalize("NFD", s).replace(" ", " \u200b ", 1) + "\x07 \n\n\n"
        s = clean_text(s)                                  # FLORES has no-break spaces: made plain
        assert clean_text(messy) == s                      # NFC, invisible and control characters, whitespace
        try: broken = s.encode("utf-8").decode("cp1252")   # UTF-8 read as Windows-1252
        except UnicodeDecodeError: continue
        if broken != s:
            assert clean_text(broken) == s, (s, broken); repaired += 1
    assert repaired > 100
    assert clean_text("a  b\tc", CleanConfig(normalize_whitespace=False)) == "a  b\tc"
    assert clean_text("Caf\u00c3\u00a9", CleanConfig(fix_encoding=False)) == "Caf\u00c3\u00a9"
    assert clean_text("cafe\u0301", CleanConfig(nfc=False)) == "cafe\u0301"


# ------------------------------------------------------------------------------------------------ deduplication

def test_dedup_exact_and_near_on_real_text(shared_data):
    sents = flores(shared_data, "es", 500)
    docs = [Document(" ".join(sents[i:i + 5]), "es") for i in range(0, 500, 5)]          # 100 distinct documents
    exact = [Document(docs[i].text.upper(), "es") for i in range(0, 30, 3)]             # 10 copies (case only)
    near = [Document(docs[i].text.replace(".", "", 1) + " Fin.", "es") for i in range(1, 31, 3)]  # 10 near copies
    kept, counts = deduplicate(docs + exact + near)
    assert counts == dict(exact_duplicates=10, near_duplicates=10)
    assert [d.text for d in kept] == [d.text for d in docs]
    assert deduplicate(docs + exact + near, DedupConfig(near=False))[1]["exact_duplicates"] == 10
    assert len(deduplicate(docs + near, DedupConfig(threshold=0.99, num_perm=512))[0]) > 100   # stricter: keeps more
    with pytest.raises(SpanishLLMError, match="dedup threshold 1.0 with num_perm 128"):
        deduplicate(docs, DedupConfig(threshold=1.0))


# ------------------------------------------------------------------------------------------------- the CLI: stats

def table_rows(out):
    "language code -> documents from a `corpus stats` markdown table."
    rows = {}
    for l in out.splitlines():
        m = re.match(r"\| (?:[^|(]*\((\w+)\)|\*\*(total)\*\*|(\w+)) \| ([\d,]+) \|", l)
        if m: rows[m[1] or m[2] or m[3]] = int(m[4].replace(",", ""))
    return rows


def test_cli_stats_without_paths_describes_the_sample(run_cli):
    r = run_cli("corpus", "stats", check=True)
    rows = table_rows(r.stdout)
    assert rows == {**{l: len(sample_paragraphs(l)) for l in (*PROJECT, "en")},
                    "total": sum(len(sample_paragraphs(l)) for l in (*PROJECT, "en"))}, r.stdout


def test_cli_stats_with_paths_and_json(run_cli, shared_data, tmp_path):
    mixed = tmp_path/"mixed.txt"                           # no language in its name: identified
    mixed.write_text("\n".join(flores(shared_data, "eu", 40) + flores(shared_data, "gl", 30)) + "\n", encoding="utf-8")
    eu = shared_data/"corpus/eu/eu_bdt-ud-dev.txt"
    r = run_cli("corpus", "stats", eu, mixed, "--json", tmp_path/"card.json", check=True)
    card = json.loads((tmp_path/"card.json").read_text())
    n_eu = sum(1 for l in eu.read_text(encoding="utf-8").splitlines() if l.strip())
    assert card["stats"]["eu"]["documents"] == n_eu + 40 and card["stats"]["gl"]["documents"] >= 28
    assert card["counts"]["langid_filled"] == 70 - card["counts"].get("langid_unsure", 0)
    assert card["stats"]["total"]["documents"] == n_eu + 70
    assert [s["path"] for s in card["sources"]] == [str(eu), str(mixed)] and card["sources"][0]["fingerprint"]
    assert card["environment"]["packages"]
    assert table_rows(r.stdout) == {l: v["documents"] for l, v in card["stats"].items()}
    assert card_markdown(card) == r.stdout


# ----------------------------------------------------------------------------------------------- the CLI: prepare

def test_cli_prepare_end_to_end(run_cli, shared_data, tmp_path):
    import datasets
    c = shared_data/"corpus"
    dup = tmp_path/"dups.jsonl"                            # unlabelled: 10 Galician sentences, each twice
    gl = flores(shared_data, "gl", 10)
    dup.write_text("".join(json.dumps({"text": t}) + "\n" for t in gl + [t.upper() for t in gl]), encoding="utf-8")
    cfg = tmp_path/"prepare.yaml"
    cfg.write_text(f"sources:\n  - {{path: {sample_dir()/'corpus'}}}\n  - {{path: {c/'es/es_pud-ud-test.txt'}}}\n"
                   f"  - {{path: {c/'ca/programes.json'}, text_field: content}}\n  - {{path: {dup}}}\n"
                   "clean: {min_chars: 10}\nlangid: {action: keep}\n", encoding="utf-8")
    out = tmp_path/"prepared"
    r = run_cli("corpus", "prepare", "--config", cfg, "--out", out, "dedup.threshold=0.9", check=True)
    assert sorted(p.name for p in out.iterdir()) == ["card.json", "card.md", "dataset"]
    ds = datasets.load_from_disk(str(out/"dataset"))
    card = json.loads((out/"card.json").read_text())
    assert ds.column_names == ["text", "lang", "source", "id"]
    assert len(ds) == card["counts"]["kept"] == card["stats"]["total"]["documents"]
    assert card["config"]["dedup"]["threshold"] == 0.9 and card["config"]["sources"][2]["text_field"] == "content"
    assert card["counts"]["read"] == len(ds) + sum(card["counts"].get(k, 0) for k in
                                                    ("cleaned_out", "exact_duplicates", "near_duplicates"))
    assert card["counts"]["exact_duplicates"] >= 10
    assert card["counts"]["langid_filled"] == 20           # the Galician sentences were identified (before dedup)
    assert sorted(t for t, l in zip(ds["text"], ds["lang"]) if l == "gl" and t in gl) == sorted(gl)
    for lang in PROJECT: assert card["stats"][lang]["documents"] > 50
    assert len(set(ds["id"])) == len(ds)
    assert "wrote" in r.stdout and "| Galician (gl) |" in (out/"card.md").read_text()
    # a second run is refused and leaves the first one as it was; --overwrite replaces it
    before = (out/"card.json").read_bytes()
    assert_one_line_error(run_cli("corpus", "prepare", "--config", cfg, "--out", out), str(out), "already exists")
    assert (out/"card.json").read_bytes() == before
    run_cli("corpus", "prepare", "--config", cfg, "--out", out, "--overwrite", "clean.min_chars=200", check=True)
    assert json.loads((out/"card.json").read_text())["counts"]["kept"] < len(ds)


def test_prepare_failing_midway_leaves_nothing(shared_data, tmp_path):
    bad = tmp_path/"late.jsonl"                            # fails after thousands of good documents
    bad.write_text(json.dumps({"text": "Kaixo!"}) + "\n" + json.dumps({"txt": "Agur!"}) + "\n")
    cfg = PrepareConfig(sources=[SourceConfig(str(shared_data/"corpus/eu/eu_bdt-ud-dev.txt")), SourceConfig(str(bad))])
    with pytest.raises(SpanishLLMError, match="late.jsonl: line 2: record has no field 'text' \\(did you mean 'txt'"):
        prepare_corpus(cfg, tmp_path/"out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.jsonl"]   # no output folder, no temporary left


# ------------------------------------------------------------------------------------------------------ bad input

def test_cli_bad_input_is_one_line(run_cli, shared_data, tmp_path):
    (tmp_path/"latin1.txt").write_bytes("Bon dia.\nCaf\xe9 amb llet.\n".encode("latin-1"))
    gz = gzip.compress("\n".join(flores(shared_data, "eu")).encode())
    (tmp_path/"trunc.txt.gz").write_bytes(gz[:len(gz) // 2])
    (tmp_path/"empty.jsonl").write_text("\n\n")
    articles = shared_data/"corpus/ca/articles.json"
    ud = (shared_data/"corpus/ca/ca_ancora-ud-dev.txt").read_text(encoding="utf-8")     # a real file, saved as Latin-1
    (tmp_path/"ca_latin1.txt").write_bytes(ud.encode("latin-1", errors="replace"))
    first = next(i for i, ch in enumerate(ud) if ord(ch) > 127)
    offset, line = len(ud[:first].encode("latin-1")), ud[:first].count("\n") + 1
    cases = [
        (["corpus", "stats", tmp_path/"missing.txt"], ["missing.txt", "no such file"]),
        (["corpus", "stats", articles], [str(articles), "line 2 (record 0)", "no field 'text'", "content"]),
        (["corpus", "stats", "--text-field", "contnt", articles], ["no field 'contnt'", "did you mean 'content'"]),
        (["corpus", "stats", "--lang", "klingon", sample_dir()/"corpus"], ["unknown language 'klingon'", "eu (Basque)"]),
        (["corpus", "stats", tmp_path/"latin1.txt"], ["latin1.txt", "invalid UTF-8 at byte 12 (line 2)", "--errors replace"]),
        (["corpus", "stats", tmp_path/"ca_latin1.txt"], [f"invalid UTF-8 at byte {offset} (line {line})"]),
        (["corpus", "stats", tmp_path/"trunc.txt.gz"], ["trunc.txt.gz", "gzip"]),
        (["corpus", "stats", tmp_path/"empty.jsonl"], ["empty.jsonl", "empty corpus"]),
        (["corpus", "stats", f"{tmp_path}/*.parquet"], ["*.parquet", "no files match"]),
    ]
    (tmp_path/"dangling.txt").symlink_to(tmp_path/"gone.txt")
    cases.append((["corpus", "stats", tmp_path/"dangling.txt"], ["dangling.txt", "broken symbolic link"]))
    if os.geteuid() != 0:                                  # root reads any file, so only a user can test this one
        (tmp_path/"locked.txt").write_text("Hola.\n"); (tmp_path/"locked.txt").chmod(0)
        cases.append((["corpus", "stats", tmp_path/"locked.txt"], ["locked.txt", "cannot read the file"]))
    for args, needles in cases:
        assert_one_line_error(run_cli(*args), *needles)
    r = run_cli("corpus", "stats", "--errors", "replace", "--lang", "ca", tmp_path/"latin1.txt", check=True)
    assert table_rows(r.stdout)["ca"] == 2


def test_cli_prepare_bad_config_is_one_line(run_cli, tmp_path):
    cfg = tmp_path/"c.yaml"
    cfg.write_text(f"sources:\n  - {{path: {sample_dir()/'corpus'}}}\ndedup: {{treshold: 0.9}}\n")
    assert_one_line_error(run_cli("corpus", "prepare", "--config", cfg, "--out", tmp_path/"o"), "treshold",
                          "did you mean 'threshold'")
    cfg.write_text(f"sources:\n  - {{path: {sample_dir()/'corpus'}, lang: klingon}}\n")
    assert_one_line_error(run_cli("corpus", "prepare", "--config", cfg, "--out", tmp_path/"o"), "klingon")
    cfg.write_text(f"sources:\n  - {{path: {sample_dir()/'corpus'}}}\n")
    assert_one_line_error(run_cli("corpus", "prepare", "--config", cfg, "--out", tmp_path/"o", "dedup.threshold=2"),
                          "threshold 2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]      # nothing written by any failed run


def test_cli_usage_mistakes_are_one_line(run_cli):
    assert_one_line_error(run_cli("corpus", "prepare", "--out", "x"), "Missing option '--config'", "corpus prepare --help")
    assert_one_line_error(run_cli("corpus", "stats", "--bogus"), "No such option '--bogus'")
    assert_one_line_error(run_cli("corpus", "stats", "--mode", "sentence"), "--mode", "sentence")


def test_cli_stats_whole_real_corpus_with_two_text_fields(run_cli, shared_data, tmp_path):
    "Softcatalà's JSON keeps its text in `content`, BasqueGLUE's in `text`: one call reads both."
    c = shared_data/"corpus"
    r = run_cli("corpus", "stats", c, "--text-field", "text,content", "--json", tmp_path/"card.json", check=True)
    st = json.loads((tmp_path/"card.json").read_text())["stats"]
    assert list(st) == ["es", "ca", "eu", "gl", "en", "total"], r.stdout
    ca_json = sum(1 for f in ("articles.json", "programes.json")
                  for rec in json.loads((c/"ca"/f).read_text(encoding="utf-8")) if (rec.get("content") or "").strip())
    ca_lines = sum(1 for p in (c/"ca").glob("*.txt") for l in p.read_text(encoding="utf-8").splitlines() if l.strip())
    assert st["ca"]["documents"] == ca_json + ca_lines
    n_en = sum(1 for l in (c/"en/globalvoices.en.txt").read_text(encoding="utf-8").splitlines() if l.strip())
    assert st["en"]["documents"] == n_en
    assert st["total"]["bytes"] > 0.9 * sum(p.stat().st_size for p in c.rglob("*.txt"))


# --------------------------------------------------------------------------------- review: outputs, overrides, hf:

def _umask():
    m = os.umask(0o22); os.umask(m); return m


def test_cli_outputs_get_the_usual_permissions(run_cli, tmp_path):
    "Cards and output folders are readable like any file the user writes (not mkstemp's 0600 / mkdtemp's 0700)."
    cfg = tmp_path/"c.yaml"
    cfg.write_text(f"sources:\n  - {{path: {sample_dir()/'corpus'/'eu.txt'}}}\n")
    run_cli("corpus", "stats", sample_dir()/"corpus"/"eu.txt", "--json", tmp_path/"card.json", check=True)
    run_cli("corpus", "prepare", "--config", cfg, "--out", tmp_path/"out", check=True)
    m = _umask()
    for f in (tmp_path/"card.json", tmp_path/"out"/"card.json", tmp_path/"out"/"card.md"):
        assert f.stat().st_mode & 0o777 == 0o666 & ~m, (f, oct(f.stat().st_mode))
    assert (tmp_path/"out").stat().st_mode & 0o777 == 0o777 & ~m


def test_cli_json_onto_a_folder_is_one_line_and_keeps_it(run_cli, tmp_path):
    (tmp_path/"keep").mkdir(); (tmp_path/"keep"/"x.txt").write_text("mine")
    assert_one_line_error(run_cli("corpus", "stats", sample_dir()/"corpus"/"eu.txt", "--json", tmp_path/"keep"),
                          "keep", "is a folder")
    assert [p.name for p in (tmp_path/"keep").iterdir()] == ["x.txt"]


def test_cli_prepare_override_of_one_source(run_cli, tmp_path):
    "`sources.0.lang=eu` sets the language of the first source; a bad index or language names its place."
    cfg = tmp_path/"c.yaml"
    cfg.write_text(f"sources:\n  - {{path: {sample_dir()/'corpus'/'eu.txt'}}}\nlangid: {{enabled: false}}\n")
    out = tmp_path/"out"
    assert_one_line_error(run_cli("corpus", "prepare", "--config", cfg, "--out", out, "sources.1.lang=eu"),
                          "sources.1", "expected an index from 0 to 0")
    assert_one_line_error(run_cli("corpus", "prepare", "--config", cfg, "--out", out, "sources.0.lang=xx"),
                          "sources[0].lang", "unknown language 'xx'")
    assert_one_line_error(run_cli("corpus", "prepare", "--config", cfg, "--out", out, "langid.enabled=true",
                                  "langid.langs=[eu, xx]"), "langid.langs[1]", "'xx'")
    assert not out.exists()
    run_cli("corpus", "prepare", "--config", cfg, "--out", out, "sources.0.lang=gl", check=True)
    card = json.loads((out/"card.json").read_text())
    assert card["config"]["sources"][0]["lang"] == "gl" and list(card["stats"]) == ["gl", "total"]


def test_cli_stats_names_the_lang_option(run_cli):
    assert_one_line_error(run_cli("corpus", "stats", "--lang", "xx", sample_dir()/"corpus"), "--lang", "'xx'")


def test_hf_prefix_on_a_saved_dataset(tmp_path):
    import datasets
    datasets.disable_progress_bars()
    datasets.Dataset.from_dict({"text": ["Kaixo mundua.", "Egun on."], "lang": ["eu", "eu"]}).save_to_disk(str(tmp_path/"s"))
    assert [(d.text, d.lang) for d in read_corpus(f"hf:{tmp_path}/s")] == [("Kaixo mundua.", "eu"), ("Egun on.", "eu")]


def test_records_labelled_with_bcp47_tags(run_cli, tmp_path):
    "Datasets often label records 'es-ES', 'ca-ES-valencia', 'eu-ES': they are read, not refused."
    recs = [("Hola, ¿qué tal?", "es-ES"), ("Bon dia a tothom, com esteu?", "ca-ES-valencia"),
            ("Kaixo, zer moduz zaudete?", "eu_ES"), ("Bo día a todos, como estades?", "gl-Latn-ES")]
    (tmp_path/"tags.jsonl").write_text("".join(json.dumps({"text": t, "language": l}) + "\n" for t, l in recs))
    assert [d.lang for d in read_corpus(tmp_path/"tags.jsonl")] == ["es", "ca", "eu", "gl"]
    (tmp_path/"bad.jsonl").write_text(json.dumps({"text": "x", "lang": "xx-ES"}) + "\n")
    assert_one_line_error(run_cli("corpus", "stats", tmp_path/"bad.jsonl"), "bad.jsonl: line 1: field 'lang'", "'xx-ES'")


def test_cli_prepare_degenerate_dedup_settings_are_refused(run_cli, tmp_path):
    "shingle 0 made every document a near-duplicate of the first (1 kept, silently); batch_size 0 dropped them all."
    cfg = tmp_path/"c.yaml"
    cfg.write_text(f"sources:\n  - {{path: {sample_dir()/'corpus'/'eu.txt'}}}\nlangid: {{enabled: false}}\n")
    for o in ("dedup.shingle=0", "dedup.batch_size=0"):
        assert_one_line_error(run_cli("corpus", "prepare", "--config", cfg, "--out", tmp_path/"o", o),
                              o.split("=")[0].replace(".", " "), "expected a positive integer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_cli_prepare_degenerate_langid_settings_are_refused(run_cli, tmp_path):
    "langid.langs=[] crashed inside numpy; a negative max_chars classified all but the last characters."
    cfg = tmp_path/"c.yaml"
    cfg.write_text(f"sources:\n  - {{path: {sample_dir()/'corpus'/'eu.txt'}}}\n")
    for o, needle in (("langid.langs=[]", "expected at least one language"), ("langid.max_chars=-5", "max_chars -5")):
        assert_one_line_error(run_cli("corpus", "prepare", "--config", cfg, "--out", tmp_path/"o", o), needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]
