"""The ``tdpr`` command: one sub-command per module of this package.

Each module ``tdpr.cli.<name>`` defines ``add_arguments(parser)`` and ``run(args) -> int``; its
docstring's first line is the sub-command's help. Sub-commands are found by listing the package,
so adding a command means adding one module. Expected failures (bad input, missing files) are
:class:`CLIError` or :class:`ValueError` and end with a one-line message and exit status 2, never
a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from tdpr import __version__


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _command_modules() -> dict[str, object]:
    modules = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "add_arguments") and hasattr(module, "run"):
            modules[info.name.replace("_", "-")] = module
    return modules


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command attached."""
    parser = argparse.ArgumentParser(
        prog="tdpr", description="Music super-resolution with time-domain CNNs and phase repair."
    )
    parser.add_argument("--version", action="version", version=f"tdpr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in _command_modules().items():
        doc = (module.__doc__ or "").strip()
        summary = doc.splitlines()[0] if doc else name
        cmd = sub.add_parser(
            name, help=summary, description=doc, formatter_class=argparse.RawTextHelpFormatter
        )
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tdpr`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args._run(args) or 0)
    except (CLIError, ValueError, OSError) as err:
        # OSError: a path through a regular file, a folder without write permission, a full
        # disk... one line naming the path, never a traceback (outputs are written atomically,
        # so nothing half-written stays behind)
        print(f"tdpr {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
