"""Shared pytest fixtures.

Tests that need the real data in ``../shared/data`` use the ``shared_data`` fixture: in CI (``CI`` set) a missing
folder is a failure, elsewhere the test is skipped (and reported as skipped, never as passed).
"""
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("SPANISH_LLM_PROGRESS", "0")


def _shared_data():
    from spanish_llm.core import shared_data_dir
    return shared_data_dir()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    "The real data folder (../shared/data or $SPANISH_LLM_DATA); required in CI."
    d = _shared_data()
    if d is None:
        if os.environ.get("CI"):
            pytest.fail("../shared/data is missing: CI must have the real data (set SPANISH_LLM_DATA)")
        pytest.skip("../shared/data not available outside CI")
    return d


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def _run_cli(*args, cwd=None, env=None, timeout=1800, check=None):
    "Run `python -m spanish_llm ARGS` in a subprocess with the checkout on the path; return CompletedProcess."
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e.update(env or {})
    r = subprocess.run([sys.executable, "-m", "spanish_llm", *map(str, args)], cwd=cwd, env=e,
                       capture_output=True, text=True, timeout=timeout)
    if check is True and r.returncode != 0:
        raise AssertionError(f"spanish-llm {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture
def run_cli():
    "Call the CLI in a subprocess: run_cli('corpus', 'stats', path) -> CompletedProcess."
    return _run_cli


def assert_one_line_error(r, *needles):
    "The CLI failed with a non-zero code and one `error: ...` line naming each of `needles`."
    assert r.returncode != 0, f"expected failure, got 0:\n{r.stdout}"
    lines = [l for l in r.stderr.splitlines() if l.startswith("error: ")]
    assert len(lines) == 1, f"expected one error line, got:\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    for n in needles: assert str(n) in lines[0], f"{n!r} not in {lines[0]!r}"
    return lines[0]
