"Core utilities at the edges a user meets: files that cannot be written, folders in the way, list overrides."
import tempfile
import pytest
from spanish_llm.core import SpanishLLMError, apply_overrides, atomic_dir, atomic_write, atomic_write_json


def test_unwritable_places_are_one_clear_error(tmp_path, monkeypatch):
    def refuse(*a, **k): raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(SpanishLLMError, match=r"card.json: cannot write the file \(Permission denied\)"):
        atomic_write_json(tmp_path/"card.json", {})
    with pytest.raises(SpanishLLMError, match=r"out: cannot create the folder \(Permission denied\)"):
        with atomic_dir(tmp_path/"out"): pass
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_the_way_is_kept(tmp_path):
    (tmp_path/"d").mkdir(); (tmp_path/"d"/"keep.txt").write_text("mine")
    with pytest.raises(SpanishLLMError, match="is a folder"): atomic_write(tmp_path/"d", "x")
    with pytest.raises(SpanishLLMError, match="cannot create its folder"): atomic_write(tmp_path/"d"/"keep.txt"/"x", "x")
    assert (tmp_path/"d"/"keep.txt").read_text() == "mine"


def test_overrides_index_lists():
    cfg = {"sources": [{"path": "a"}, {"path": "b"}], "langid": None}
    assert apply_overrides(cfg, ["sources.1.lang=eu"])["sources"] == [{"path": "a"}, {"path": "b", "lang": "eu"}]
    assert apply_overrides(cfg, ["langid.threshold=0.3"])["langid"] == {"threshold": 0.3}
    with pytest.raises(SpanishLLMError, match="expected an index from 0 to 1"): apply_overrides(cfg, ["sources.x.lang=eu"])


def test_missing_required_key_is_named(run_cli, tmp_path):
    "A source without its path: the key is named, not Python's 'missing 1 required positional argument'."
    from conftest import assert_one_line_error
    (tmp_path/"c.yaml").write_text("sources:\n  - {lang: eu}\n")
    assert_one_line_error(run_cli("corpus", "prepare", "--config", tmp_path/"c.yaml", "--out", tmp_path/"o"),
                          "c.yaml.sources[0]: missing required key 'path' (it has: lang)")
