"""The `platoons` command line: thin wrappers over the Python API."""

from __future__ import annotations

import sys

import typer

from platoons.cli.failures import Stopped, stop_on_signals
from platoons.errors import InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Platoons: compare ways of commissioning public services, and award real tenders.",
)


def _register_commands() -> None:
    # Imported here so that `import platoons.cli` stays cheap and side-effect free.
    from platoons.cli import report, simulation, tender
    from platoons.cli import experiments

    commands = (simulation.run, simulation.compare, simulation.validate, simulation.describe, simulation.presets,
                simulation.calibrate)
    for command in commands:
        app.command()(command)
    app.command("tender")(tender.tender)
    app.command()(experiments.sweep), app.command()(experiments.summarize)
    app.command("report")(report.report)
    app.command("export")(report.export)
    app.command("glossary")(simulation.glossary)
    from platoons.cli import validation, web

    app.command("serve")(web.serve)
    app.command("check-record")(validation.check_record)
    from platoons.cli import explain, levers, new

    app.command("levers")(levers.levers)
    app.command("explain")(explain.explain)
    app.command("new")(new.new)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: every failure a user can cause is one line on stderr and an exit status.

    Usage errors and bad input exit 2, a signal exits 128 + its number (SIGINT 130, SIGTERM 143),
    a full disk or a refused write exits 1. `--debug` lets the traceback through instead.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    _register_commands()
    try:
        with stop_on_signals():
            code = app(args=args, prog_name="platoons", standalone_mode=False)
    except Exception as error:
        if debug:
            raise
        _fail(error)
    except Stopped as stop:
        if debug:
            raise
        print(f"error: {stop}", file=sys.stderr)
        raise SystemExit(stop.exit_code) from None
    if isinstance(code, int) and code:
        raise SystemExit(code)


def _fail(error: Exception) -> None:
    """One line for an error a user can meet; anything else is a bug and keeps its traceback."""
    if isinstance(error, InputError):
        print(f"error: {' '.join(str(error).splitlines())}", file=sys.stderr)
        raise SystemExit(2) from None
    if isinstance(error, typer.Exit):
        raise SystemExit(error.exit_code) from None
    if isinstance(error, _click_errors()):
        line = _usage_line(error)
        if line:  # `platoons` alone has printed its help and has nothing to add
            print(f"error: {line}", file=sys.stderr)
        raise SystemExit(getattr(error, "exit_code", 2)) from None
    if isinstance(error, typer.Abort):
        print("error: aborted", file=sys.stderr)
        raise SystemExit(1) from None
    if isinstance(error, OSError) and error.errno is not None:
        where = f": {error.filename}" if error.filename else ""
        print(f"error: {error.strerror}{where}", file=sys.stderr)
        raise SystemExit(1) from None
    if isinstance(error, MemoryError):
        print("error: out of memory; run fewer months, providers, areas or replicates", file=sys.stderr)
        raise SystemExit(1) from None
    raise error


def _click_errors() -> tuple[type, ...]:
    """Click's exception base, from typer's bundled copy and from an installed click alike.

    typer >= 0.29 raises the classes of its own copy of click; older typers raise click's.
    """
    bases = [base for base in typer.BadParameter.__mro__ if base.__name__ == "ClickException"]
    try:
        import click

        bases.append(click.ClickException)
    except ImportError:
        pass
    return tuple(bases)


def _usage_line(error: Exception) -> str:
    message = " ".join(error.format_message().split()).rstrip(".")
    context = getattr(error, "ctx", None)
    if message and context is not None and getattr(error, "exit_code", 1) == 2:
        return f"{message}; see '{context.command_path} --help'"
    return message
