"""webMUSHRA plumbing: its YAML dialect, a root assembled around a kit, and its PHP server.

webMUSHRA (audiolabs/webMUSHRA) reads its configurations with an old YAML parser: a nested
sequence written on one line (``- - random``) comes back as a string, and flow style fails, so
:func:`dump_yaml` writes block style only, nested lists as a lone ``-`` with the items indented
below it (the form of webMUSHRA's own ``configs/default.yaml``), and every string double-quoted.

:func:`assemble_root` builds a webMUSHRA root in a folder of its own: links to the files of a
webMUSHRA checkout, a copy of its ``service/`` (PHP resolves ``../results`` from there), the kit's
``configs/`` and a writable ``results/``. Nothing is written into the checkout, which may be
read-only. :func:`serve` runs PHP's built-in server on loopback; ``service/write.php`` appends
each finished session to ``results/<testId>/<page type>.csv``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

logger = logging.getLogger(__name__)

#: where to get webMUSHRA when it is not found
WEBMUSHRA_HINT = (
    "download webMUSHRA (https://github.com/audiolabs/webMUSHRA, e.g. `git clone --depth 1 "
    "https://github.com/audiolabs/webMUSHRA`) and pass its folder"
)
#: entries of the checkout that the assembled root replaces
_OWN = {"configs", "results", "service"}


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a double-quoted YAML scalar
    raise TypeError(f"cannot write {type(value).__name__} to a webMUSHRA config")


def _lines(node, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(node, dict):
        lines = []
        for key, value in node.items():
            if isinstance(value, (dict, list)) and value:
                lines += [f"{pad}{key}:", *_lines(value, indent + 4)]
            else:
                lines.append(f"{pad}{key}: {_scalar(value)}")
        return lines
    lines = []
    for item in node:
        if isinstance(item, dict):
            inner = _lines(item, indent + 2)
            lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
        elif isinstance(item, list):
            lines += [f"{pad}-", *_lines(item, indent + 4)]
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


def dump_yaml(config: dict) -> str:
    """``config`` as block-style YAML that webMUSHRA's parser reads back unchanged.

    Raises:
        TypeError: a value that is not a str, bool, number, or non-empty dict or list.
    """
    return "\n".join(_lines(config, 0)) + "\n"


def default_webmushra_dir() -> Path | None:
    """``$TDPR_WEBMUSHRA``, else ``../shared/vendor/webMUSHRA`` beside the repository, or None."""
    if os.environ.get("TDPR_WEBMUSHRA"):
        return Path(os.environ["TDPR_WEBMUSHRA"])
    candidate = Path(__file__).resolve().parents[3] / "../shared/vendor/webMUSHRA"
    return candidate.resolve() if candidate.is_dir() else None


def check_webmushra(folder: str | os.PathLike) -> Path:
    """Return ``folder`` if it is a webMUSHRA root (``index.html``, ``startup.js``, write.php)."""
    folder = Path(folder)
    needed = ("index.html", "startup.js", "service/write.php")
    missing = [n for n in needed if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not a webMUSHRA folder (no {', '.join(missing)}): {WEBMUSHRA_HINT}"
        )
    return folder


def assemble_root(
    webmushra: str | os.PathLike,
    kit: str | os.PathLike,
    root: str | os.PathLike,
    results: str | os.PathLike | None = None,
) -> Path:
    """Build a webMUSHRA root at ``root`` serving the kit's ``configs/``.

    Args:
        webmushra: a webMUSHRA checkout (only read).
        kit: the listening-test kit (``configs/*.yaml`` and ``configs/resources/``).
        root: an empty or absent folder for the root.
        results: where webMUSHRA writes results (default ``root/results``); linked as
            ``root/results`` so that they outlive the root.

    Returns:
        ``root``.
    """
    webmushra, kit, root = check_webmushra(webmushra).resolve(), Path(kit).resolve(), Path(root)
    if not sorted((kit / "configs").glob("*.yaml")):
        raise FileNotFoundError(f"{kit} has no configs/*.yaml: is it a listening-test kit?")
    root.mkdir(parents=True, exist_ok=True)
    for entry in sorted(webmushra.iterdir()):
        if entry.name not in _OWN:
            (root / entry.name).symlink_to(entry)
    shutil.copytree(webmushra / "service", root / "service")
    (root / "configs").symlink_to(kit / "configs", target_is_directory=True)
    if results is None:
        (root / "results").mkdir()
    else:
        Path(results).mkdir(parents=True, exist_ok=True)
        (root / "results").symlink_to(Path(results).resolve(), target_is_directory=True)
    return root


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(root: str | os.PathLike, port: int, *, log=subprocess.DEVNULL) -> subprocess.Popen:
    """Start ``php -S 127.0.0.1:port`` in ``root`` and wait until it accepts connections.

    Raises:
        FileNotFoundError: no ``php`` on PATH (Debian/Ubuntu package ``php-cli``).
        RuntimeError: the server did not come up within 10 s.
    """
    php = shutil.which("php")
    if php is None:
        raise FileNotFoundError(
            "PHP is needed to serve webMUSHRA: install the `php-cli` package "
            "(apt-get install php-cli), or any PHP >= 7 with `php` on PATH"
        )
    cmd = [php, "-S", f"127.0.0.1:{port}", "-t", str(root)]
    server = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"`{' '.join(cmd)}` exited with status {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.terminate()
    raise RuntimeError(f"`{' '.join(cmd)}` did not accept connections within 10 s")


def config_urls(root: str | os.PathLike, port: int) -> dict[str, str]:
    """``config file name -> URL`` for every config of the root."""
    configs = sorted((Path(root) / "configs").glob("*.yaml"))
    return {c.name: f"http://127.0.0.1:{port}/index.html?config={c.name}" for c in configs}
