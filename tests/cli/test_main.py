import subprocess
import sys

from laserdose.cli.main import app
from laserdose.errors import InputError, require_choice, require_range


def test_input_error_becomes_one_line_and_exit_2(cli):
    @app.command("_raise-for-test", hidden=True)
    def _raise() -> None:
        raise InputError("wavelength must be between 600 and 1100 nm, got 500 nm")

    try:
        result = cli("_raise-for-test")
    finally:
        app.registered_commands.pop()
    assert result.exit_code == 2
    assert result.stderr.strip() == "laserdose: error: wavelength must be between 600 and 1100 nm, got 500 nm"
    assert "Traceback" not in result.output


def test_require_range_rejects_outside_and_nan():
    assert require_range("power", 5.0, 0.0, 30.0, "W") == 5.0
    for bad in (-1.0, 31.0, float("nan")):
        try:
            require_range("power", bad, 0.0, 30.0, "W")
        except InputError as exc:
            assert "between 0 and 30 W" in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")


def test_require_choice_lists_allowed():
    try:
        require_choice("tissue", "liver", ["fat", "muscle"])
    except InputError as exc:
        assert str(exc) == "unknown tissue 'liver'; allowed: fat, muscle"
    else:
        raise AssertionError


def test_unknown_command_exits_2(cli):
    assert cli("no-such-command").exit_code == 2


def _modules_after(*argv: str) -> set[str]:
    """The modules loaded when the console script runs `laserdose ARGV` in a fresh interpreter."""
    script = (
        "import sys\n"
        f"sys.argv = ['laserdose', *{list(argv)!r}]\n"
        "from laserdose.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(done.stderr.split())


def test_console_script_imports_only_the_named_command():
    loaded = _modules_after("simulate", "--help")
    assert "laserdose.cli.simulate" in loaded
    heavy = {
        "laserdose.cli.device",
        "laserdose.cli.plan",
        "laserdose.cli.clinic",
        "sqlalchemy",
        "scipy.optimize",
    }
    assert not heavy & loaded, heavy & loaded


def test_console_script_lists_every_command_without_one():
    listing = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv=['laserdose','--help']; from laserdose.cli.main import main; main()",
        ],
        capture_output=True,
        text=True,
    ).stdout
    from laserdose.cli.main import _CLINIC_COMMANDS, _COMMANDS

    for name in [*_COMMANDS, *_CLINIC_COMMANDS]:
        assert f" {name} " in listing or f" {name}\n" in listing, name
