"""Serve the listening tests of a kit in webMUSHRA on this machine, until Ctrl-C.

KIT_DIR is what the workflow's export_listening_test writes (results/listening/). A webMUSHRA
root is assembled in a temporary folder from the webMUSHRA checkout (--webmushra, default
$TDPR_WEBMUSHRA) and the kit; nothing is written into the checkout. PHP's built-in server
(Debian package php-cli) serves it on 127.0.0.1, and webMUSHRA's own service/write.php appends
every finished session to RESULTS/<testId>/*.csv (default KIT_DIR/results). The URL of each
test is printed; on exit (Ctrl-C, or SIGTERM from a process manager: either stops the PHP server
and removes the temporary root), where the results are and the command that draws Figs. 2 and 3.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import tempfile
from pathlib import Path

from tdpr.cli import CLIError
from tdpr.report.webmushra import (
    WEBMUSHRA_HINT,
    assemble_root,
    check_webmushra,
    config_urls,
    default_webmushra_dir,
    serve,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``listen`` arguments."""
    parser.add_argument("kit", type=Path, metavar="KIT_DIR", help="the listening-test kit")
    parser.add_argument(
        "--webmushra", type=Path, metavar="DIR", help="webMUSHRA folder (default $TDPR_WEBMUSHRA)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (8000)")
    parser.add_argument(
        "--results", type=Path, metavar="DIR", help="where results go (KIT_DIR/results)"
    )


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM handler: stop serving as Ctrl-C does, so the PHP server does not outlive us."""
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted, then say where the results are."""
    webmushra = args.webmushra or default_webmushra_dir()
    if webmushra is None:
        raise CLIError(f"no webMUSHRA given: {WEBMUSHRA_HINT} with --webmushra DIR")
    check_webmushra(webmushra)
    if not (args.kit / "configs").is_dir():
        raise CLIError(f"{args.kit} has no configs/: run the workflow's export_listening_test")
    results = (args.results or args.kit / "results").resolve()
    with tempfile.TemporaryDirectory(prefix="tdpr-listen-") as tmp:
        root = assemble_root(webmushra, args.kit, Path(tmp) / "webmushra", results=results)
        try:
            server = serve(root, args.port)
        except RuntimeError as err:
            raise CLIError(f"{err} (is port {args.port} in use? try --port)") from err
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            print(f"webMUSHRA with the tests of {args.kit} on http://127.0.0.1:{args.port}/")
            for name, url in config_urls(root, args.port).items():
                print(f"  {name:<28} {url}")
            print("Press Ctrl-C to stop.", flush=True)
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.terminate()
            server.wait(timeout=10)
    found = sorted(results.rglob("*.csv"))
    print(f"\nResults: {results} ({len(found)} CSV file(s) so far).")
    print("Figs. 2 and 3 from them:")
    print(f"  tdpr ratings {shlex.quote(str(results))} --out-dir results/figures")
    print("or list the CSVs under report.ratings in the workflow config and run the rule")
    print("ingest_ratings (snakemake results/figures/ab_preference.png results/figures/mos.png).")
    return 0
