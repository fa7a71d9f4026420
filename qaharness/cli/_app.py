"""The Typer app and the one place where errors become exit codes.

0 success · 1 policy breached · 2 bad invocation or input (one line naming the culprit)
· 3 internal error (a message plus the path of a log holding the traceback).
"""

from __future__ import annotations

import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup
from typer.exceptions import TyperException

from ..errors import QAHarnessError
from ..paths import logs_dir

__all__ = ["app", "console", "err_console", "EXIT_OK", "EXIT_BREACH", "EXIT_BAD_INPUT", "EXIT_INTERNAL"]

EXIT_OK, EXIT_BREACH, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
console = Console(highlight=False, soft_wrap=True)
if not console.is_terminal:  # CI logs and pipes: wide enough that tables stay readable
    console = Console(highlight=False, soft_wrap=True, width=160)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def write_crash_log(exc: BaseException) -> Path:
    """Write the traceback to a log file and return its path (a temp dir if home is unwritable)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    text = f"qaharness {' '.join(sys.argv[1:])}\n\n" + "".join(traceback.format_exception(exc))
    for folder in (logs_dir(), Path("/tmp") / "qaharness-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("(could not write a log)")


#: options whose value may be left out (typer has no optional-value options): a bare ``--mlflow``
#: (last, or followed by another option) means ``--mlflow default``
OPTIONAL_VALUES = {"--mlflow": "default"}


def fill_optional_values(args: list[str]) -> list[str]:
    out: list[str] = []
    for index, arg in enumerate(args):
        out.append(arg)
        following = args[index + 1] if index + 1 < len(args) else None
        if arg in OPTIONAL_VALUES and (following is None or following.startswith("-")):
            out.append(OPTIONAL_VALUES[arg])
    return out


class _Group(TyperGroup):
    """Turns qaharness errors into exit codes; nothing else does."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        return super().parse_args(ctx, fill_optional_values(list(args)))

    def invoke(self, ctx: typer.Context):  # type: ignore[override]  # typer.Context is click's, vendored
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # typer vendors its own click
            raise
        except QAHarnessError as exc:
            # escaped: a message may hold brackets ('pip install "qaharness[mlflow]"') that rich would eat
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            log = write_crash_log(exc)
            first = (str(exc).splitlines() or [""])[0]
            err_console.print(
                f"internal error: {type(exc).__name__}: {first}\n"
                f"the traceback is in {log}; please attach it to a bug report",
                markup=False,
            )
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=_Group,
    name="qaharness",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Evaluate synthetic tabular data and gate its release against a policy.\n\n"
    "Exit codes: 0 ok/pass, 1 policy breached, 2 bad input or usage, 3 internal error.",
)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True)) -> None:
    if version:
        from .._version import __version__

        console.print(f"qaharness {__version__}")
        raise typer.Exit(0)
