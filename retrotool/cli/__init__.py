"""The `retrotool` command: parse arguments, call one library function, print the result.

One module per group of commands (replays, recording, data, catalog, states,
ram, integrate); `common` holds what they share. No logic lives here. Every expected failure is a
RetroToolError, printed as a one- or two-line message with a non-zero exit and
no traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from retrotool import interrupts

# each module registers its commands, in the order `retrotool --help` lists them
# isort: off
from retrotool.cli import replays, recording, data, catalog, states, ram, integrate, edit  # noqa: F401
# isort: on
from retrotool.cli.common import app, err
from retrotool.errors import RetroToolError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app, turning project errors into short messages."""
    try:
        with interrupts.sigterm_raises():  # like Ctrl-C: outputs in progress are cleaned up
            code = app(standalone_mode=False)
    except RetroToolError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except interrupts.Terminated:
        err.print("terminated")
        sys.exit(interrupts.EXIT_CODE)
    except typer.Exit as e:  # click's Exit in older Typers, Typer's own since 0.24: typer.Exit names both
        sys.exit(e.exit_code)
    except Exception as e:
        # usage errors: click.ClickException in older Typers, Typer's vendored copy of it since 0.24; click itself
        # may not be installed, so they are recognised by shape
        show, exit_code = getattr(e, "show", None), getattr(e, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        raise
    if code == 130:  # Typer turns Ctrl-C into exit code 130, returned (not raised) without standalone mode
        err.print("interrupted")
    if isinstance(code, int) and code:
        sys.exit(code)
