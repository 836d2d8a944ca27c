"The console script is wired up and user errors are one line with a non-zero exit."
from conftest import assert_one_line_error


def test_help_lists_commands(run_cli):
    r = run_cli("--help")
    assert r.returncode == 0, r.stderr
    assert "corpus" in r.stdout


def test_unknown_command_fails(run_cli):
    r = run_cli("no-such-command")
    assert r.returncode != 0


def test_a_group_without_its_command_shows_its_help(run_cli):
    "`spanish-llm corpus` (or `spanish-llm` alone) prints the help, not the help wrapped in one 'error:' line."
    for args in (["corpus"], ["tokenizer"], []):
        r = run_cli(*args)
        assert r.returncode == 2 and "error:" not in r.stderr, r.stderr
        assert r.stdout.startswith(f"Usage: spanish-llm {' '.join(args)}".rstrip()) and "Commands:" in r.stdout, r.stdout
