"""The `platoons` command line: thin wrappers over the Python API."""

from __future__ import annotations

import sys

import typer

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


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input becomes one line on stderr and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    _register_commands()
    try:
        app(args=args, prog_name="platoons", standalone_mode=False)
    except InputError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except Exception as error:  # click's usage errors carry their own exit code
        import click

        if isinstance(error, click.exceptions.ClickException):
            error.show()
            raise SystemExit(error.exit_code) from None
        if isinstance(error, click.exceptions.Abort):
            raise SystemExit(1) from None
        raise
