"The console script is wired up and user errors are one line with a non-zero exit."
from conftest import assert_one_line_error


def test_help_lists_commands(run_cli):
    r = run_cli("--help")
    assert r.returncode == 0, r.stderr
    assert "corpus" in r.stdout


def test_unknown_command_fails(run_cli):
    r = run_cli("no-such-command")
    assert r.returncode != 0
