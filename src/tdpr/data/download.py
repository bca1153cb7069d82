"""Resumable, verified HTTP download of one large file (the 101 GB MAESTRO v3 zip).

The transfer goes to ``<dest>.part`` beside the destination. An interrupted run leaves that file
behind and the next run continues it with an HTTP ``Range`` request, so a dropped connection
after 90 GB costs seconds, not hours. The SHA-256 is computed while the bytes arrive (the part
already on disk is hashed first when resuming), and only a file whose digest matches is renamed
onto ``dest``: ``dest`` either does not exist or is complete and verified.

Standard library only (``urllib.request``), plus tqdm for a progress bar on a terminal.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

log = logging.getLogger(__name__)

MAESTRO_V3_URL = (
    "https://storage.googleapis.com/magentadata/datasets/maestro/v3.0.0/maestro-v3.0.0.zip"
)
MAESTRO_V3_SHA256 = "6680fea5be2339ea15091a249fbd70e49551246ddbd5ca50f1b2352c08c95291"

_USER_AGENT = "tdpr-download/0.1 (Python urllib)"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")
# Failures that a later attempt can get past. HTTP statuses are judged in _is_transient.
_TRANSIENT_ERRORS = (
    ConnectionError,  # reset, aborted, refused, broken pipe, RemoteDisconnected
    TimeoutError,
    http.client.IncompleteRead,
    http.client.BadStatusLine,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)


class DownloadError(RuntimeError):
    """A download failed for a reason other than a checksum mismatch (or, as subclass, that)."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not have the expected SHA-256; the part file has been deleted."""


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Return the hex SHA-256 digest of a file, read in chunks of ``chunk_size`` bytes."""
    hasher = hashlib.sha256()
    _hash_into(hasher, Path(path), chunk_size)
    return hasher.hexdigest()


def _hash_into(hasher: hashlib._Hash, path: Path, chunk_size: int) -> int:
    """Feed the whole file into ``hasher``; return the number of bytes read."""
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(chunk_size):
            hasher.update(chunk)
            size += len(chunk)
    return size


def _gb(n: int) -> str:
    return f"{n / 1e9:,.2f} GB ({n:,} bytes)"


@dataclass
class _Part:
    """The ``.part`` file and a running SHA-256 of exactly the bytes it holds."""

    path: Path
    chunk_size: int
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)
    size: int = 0

    def sync(self) -> int:
        """Make the hash cover the bytes on disk (rehashing only if they changed); return size."""
        on_disk = self.path.stat().st_size if self.path.exists() else 0
        if on_disk != self.size:
            log.info("Hashing the %s already in %s before resuming", _gb(on_disk), self.path)
            self.hasher, self.size = hashlib.sha256(), 0
            if on_disk:
                self.size = _hash_into(self.hasher, self.path, self.chunk_size)
        return self.size

    def truncate(self) -> None:
        self.path.write_bytes(b"")
        self.hasher, self.size = hashlib.sha256(), 0

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.hasher, self.size = hashlib.sha256(), 0


@dataclass
class _Job:
    """What one download needs across attempts; ``total`` is learned from the server."""

    url: str
    dest: Path
    expected_size: int | None
    timeout: float
    chunk_size: int
    progress_bar: bool
    margin: int
    total: int | None = None


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None,
    *,
    expected_size: int | None = None,
    retries: int = 8,
    backoff: float = 2.0,
    max_backoff: float = 300.0,
    timeout: float = 60,
    chunk_size: int = 1 << 20,
    progress: bool | None = None,
    min_free_bytes_margin: int = 1 << 30,
    verify_existing: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download, and verify it.

    Args:
        url: http(s) URL of the file.
        dest: where the verified file ends up. ``<dest>.part`` beside it holds the transfer.
        sha256: expected hex SHA-256 digest, or None to skip verification.
        expected_size: expected size in bytes, if known. Enables the free-space check before any
            request and catches a server that reports a different size.
        retries: how many consecutive failed attempts without progress to retry. An attempt
            that received bytes resets the count, so a long transfer survives many drops.
        backoff: the k-th consecutive retry waits ``backoff * 2**k`` seconds...
        max_backoff: ...but never longer than this.
        timeout: socket timeout in seconds, for connecting and for each read.
        chunk_size: bytes per read and per hash update.
        progress: tqdm bar (True), log lines every ~5 % (False), or a bar only when stderr is a
            terminal (None).
        min_free_bytes_margin: free space to leave on the destination's filesystem.
        verify_existing: hash an existing ``dest`` before trusting it (minutes for 100 GB).
        sleep: called with the backoff delay; injectable so that tests do not wait.

    Returns:
        ``dest`` as a Path.

    Raises:
        ChecksumError: the downloaded file's digest differs; the part file is deleted.
        DownloadError: a non-retryable HTTP status, retries exhausted, too little disk space,
            a size that disagrees with ``expected_size``, or an existing ``dest`` that fails
            verification.
    """
    dest = Path(dest)
    sha256 = _normalise_digest(sha256)
    if dest.exists():
        _check_existing(dest, sha256, verify_existing, chunk_size)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    job = _Job(
        url, dest, expected_size, timeout, chunk_size,
        sys.stderr.isatty() if progress is None else progress, min_free_bytes_margin,
    )  # fmt: skip
    part = _Part(dest.with_suffix(dest.suffix + ".part"), chunk_size)
    if expected_size is not None:
        _check_free_space(job, expected_size - min(part.sync(), expected_size))
    _retry(lambda: _attempt(job, part), part, url, retries, backoff, max_backoff, sleep)
    _verify(job, part, sha256)
    with part.path.open("rb") as f:  # durable before the rename makes it look complete
        os.fsync(f.fileno())
    os.replace(part.path, dest)
    log.info("Downloaded and verified %s: %s", dest, _gb(dest.stat().st_size))
    return dest


def _normalise_digest(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    digest = sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"not a SHA-256 hex digest (64 hex characters): {sha256!r}")
    return digest


def _check_existing(dest: Path, sha256: str | None, verify: bool, chunk_size: int) -> None:
    """Accept an existing ``dest`` (verifying it if asked); raise if its digest is wrong."""
    if sha256 is None or not verify:
        log.info("%s already exists; not verifying it", dest)
        return
    size = dest.stat().st_size
    log.info("Verifying existing %s (%s); this takes minutes for large files", dest, _gb(size))
    start = time.monotonic()
    actual = sha256_file(dest, chunk_size)
    if actual != sha256:
        raise DownloadError(
            f"{dest} exists but its SHA-256 is {actual}, expected {sha256}. It was not written "
            "by this downloader (which only renames verified files); delete it to download again."
        )
    log.info("%s verified in %.0f s", dest, time.monotonic() - start)


def _check_free_space(job: _Job, remaining: int) -> None:
    """Fail early when ``remaining`` bytes plus the margin do not fit on dest's filesystem."""
    free = shutil.disk_usage(job.dest.parent).free
    if remaining + job.margin > free:
        raise DownloadError(
            f"Not enough free disk space in {job.dest.parent} for {job.dest.name}: the download "
            f"needs {_gb(remaining)} more, plus a margin of {_gb(job.margin)}, but only "
            f"{_gb(free)} is free. Free some space or download to another filesystem."
        )


def _retry(
    attempt: Callable[[], None],
    part: _Part,
    url: str,
    retries: int,
    backoff: float,
    max_backoff: float,
    sleep: Callable[[float], None],
) -> None:
    """Call ``attempt`` until it returns, sleeping with exponential backoff after failures."""
    failures = 0
    while True:
        before = part.size
        try:
            return attempt()
        except Exception as exc:
            if not _is_transient(exc):
                if isinstance(exc, urllib.error.HTTPError):
                    raise DownloadError(
                        f"HTTP {exc.code} {exc.reason} for {url}; not retrying (check the URL)"
                    ) from exc
                raise
            failures = 0 if part.size > before else failures + 1
            if failures > retries:
                raise DownloadError(
                    f"Giving up on {url} after {retries + 1} attempts in a row without progress; "
                    f"last error: {exc!r}. Rerun to resume from {_gb(part.size)}."
                ) from exc
            delay = min(backoff * 2 ** max(failures - 1, 0), max_backoff)
            log.warning("Download interrupted (%r); retrying in %.0f s", exc, delay)
            sleep(delay)


def _is_transient(exc: BaseException) -> bool:
    """Whether a later attempt may succeed: network trouble, 408, 429 and 5xx responses."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in (408, 429) or exc.code >= 500
    if isinstance(exc, urllib.error.URLError):  # could not connect (DNS, refused, TLS ...)
        return isinstance(exc.reason, OSError) and not isinstance(
            exc.reason, ssl.SSLCertVerificationError
        )
    return isinstance(exc, _TRANSIENT_ERRORS)


def _attempt(job: _Job, part: _Part) -> None:
    """Make one request and append what the server sends to the part file."""
    offset = part.sync()
    if job.expected_size is not None and offset >= job.expected_size:
        return  # nothing left to fetch; _verify decides whether the part is right
    request = urllib.request.Request(
        job.url, headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    )
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=job.timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code != 416 or not offset:
            raise
        # Nothing at or after `offset`: the part is complete (or too long); _verify decides.
        found = _UNSATISFIED_RANGE.fullmatch(exc.headers.get("Content-Range", "").strip())
        job.total = int(found.group(1)) if found else job.total
        log.info("Server has no bytes after %s; verifying the part file", _gb(offset))
        return
    with response:
        start = _response_start(job, response, offset)
        if start == 0 and offset:
            log.warning("Server ignored the Range request; restarting %s from zero", job.url)
            part.truncate()
        if job.total is not None:
            _check_free_space(job, job.total - start)
        _copy_body(job, response, part)


def _response_start(job: _Job, response: http.client.HTTPResponse, offset: int) -> int:
    """Return the offset at which the response body starts; record the file's total size."""
    length = response.headers.get("Content-Length")
    if response.status == 200:
        start, total = 0, int(length) if length is not None else None
    elif response.status == 206:
        content_range = response.headers.get("Content-Range", "")
        found = _CONTENT_RANGE.fullmatch(content_range.strip())
        if not found:
            raise DownloadError(f"206 response with malformed Content-Range {content_range!r}")
        start, total = int(found.group(1)), _int_or_none(found.group(3))
        if start != offset:
            raise DownloadError(
                f"Asked {job.url} for bytes from {offset} but got Content-Range "
                f"{content_range!r}; delete {job.dest.name}.part to start over"
            )
    else:
        raise DownloadError(f"Unexpected HTTP {response.status} {response.reason} for {job.url}")
    if total is not None and job.expected_size is not None and total != job.expected_size:
        raise DownloadError(
            f"{job.url} is {_gb(total)}, but {_gb(job.expected_size)} was expected: "
            "wrong URL, or the file changed on the server"
        )
    job.total = total if total is not None else job.total
    return start


def _int_or_none(text: str) -> int | None:
    return None if text == "*" else int(text)


def _copy_body(job: _Job, response: http.client.HTTPResponse, part: _Part) -> None:
    """Append the body to the part file and the hash; raise IncompleteRead if it ends early."""
    progress = _Progress(job.dest.name, part.size, job.total, job.progress_bar)
    try:
        with part.path.open("ab") as f:
            while chunk := response.read(job.chunk_size):
                f.write(chunk)
                part.hasher.update(chunk)
                part.size += len(chunk)
                progress.update(len(chunk))
    finally:
        progress.close()
    # http.client returns b"" (no error) when the peer closes before Content-Length is reached.
    if job.total is not None and part.size < job.total:
        raise http.client.IncompleteRead(b"", job.total - part.size)


def _verify(job: _Job, part: _Part, sha256: str | None) -> None:
    """Check the part file's size and SHA-256; delete it and raise if either is wrong."""
    size = part.sync()
    total = job.total if job.total is not None else job.expected_size
    if total is not None and size != total:
        part.discard()
        raise DownloadError(
            f"{part.path} holds {_gb(size)} but {job.url} is {_gb(total)}; "
            "deleted the part file, rerun to download again"
        )
    if sha256 is None:
        return
    actual = part.hasher.hexdigest()
    if actual != sha256:
        part.discard()
        raise ChecksumError(
            f"SHA-256 mismatch for {job.url}: expected {sha256}, got {actual}. "
            f"Deleted {part.path}; rerun to download again."
        )


class _Progress:
    """A tqdm bar on a terminal; otherwise a log line every ~5 % (every GB if size unknown)."""

    def __init__(self, name: str, done: int, total: int | None, bar: bool) -> None:
        self.name, self.done, self.total = name, done, total
        self.started, self.first = time.monotonic(), done
        self.step = max(total // 20, 1) if total else 1 << 30
        self.next = (done // self.step + 1) * self.step
        self.bar = (
            tqdm(total=total, initial=done, unit="B", unit_scale=True, desc=name) if bar else None
        )

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.done >= self.next:
            self.next = (self.done // self.step + 1) * self.step
            rate = (self.done - self.first) / max(time.monotonic() - self.started, 1e-9)
            if self.total:
                log.info(
                    "%s: %.0f %% of %.2f GB (%.1f MB/s)",
                    self.name, 100 * self.done / self.total, self.total / 1e9, rate / 1e6,
                )  # fmt: skip
            else:
                log.info("%s: %.2f GB (%.1f MB/s)", self.name, self.done / 1e9, rate / 1e6)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
