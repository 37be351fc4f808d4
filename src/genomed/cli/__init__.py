"""The ``genomed`` command: thin wrappers over the library, one-line errors, non-zero exit codes."""

from __future__ import annotations

import sys

from genomed.errors import GenomedError


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command; any failure becomes one line on stderr and a non-zero exit code."""
    import typer

    from genomed.cli.app import app

    try:
        result = app(args=argv, prog_name="genomed", standalone_mode=False)
    except GenomedError as exc:
        print(f"genomed: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("genomed: aborted", file=sys.stderr)
        return 1
    except typer.TyperException as exc:  # usage errors: a missing option, a bad value
        print(f"genomed: error: {exc.format_message()} (see --help)", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("genomed: interrupted", file=sys.stderr)
        return 130
    return result if isinstance(result, int) else 0


def entry_point() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    sys.exit(main())


__all__ = ["entry_point", "main"]
