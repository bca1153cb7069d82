"""Tests for tdpr.data.download against a fault-injecting HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import re
import shutil
import socket
import struct
import threading
from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tdpr.data.download import ChecksumError, DownloadError, download, sha256_file

PAYLOAD = random.Random(0).randbytes(4 << 20)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
CHUNK = 64 << 10
_DiskUsage = namedtuple("_DiskUsage", "total used free")


@dataclass
class Faults:
    """What the server does wrong; each test sets the fields it needs."""

    statuses: list[int] = field(default_factory=list)  # answered, in order, before the payload
    drop_after: int | None = None  # first body: send this many bytes, then close the connection
    reset: bool = False  # close with a TCP RST instead of a FIN
    stall_after: int | None = None  # first body: send this many bytes, then go silent
    corrupt_at: tuple[int, ...] = ()  # payload offsets whose bytes are flipped
    ignore_range: bool = False  # answer 200 with the whole file to Range requests
    shift_range: int = 0  # answer 206 starting this many bytes away from the requested start


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.faults = Faults()
        self.ranges: list[str | None] = []  # the Range header of every request, None if absent
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends a stall early at teardown

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/maestro-v3.0.0.zip"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        faults, requested = self.server.faults, self.headers.get("Range")
        with self.server.lock:
            self.server.ranges.append(requested)
            status = faults.statuses.pop(0) if faults.statuses else None
            cut, faults.drop_after = faults.drop_after, None
            stall, faults.stall_after = faults.stall_after, None
        if status is not None:
            self.send_error(status)
            return
        start = 0
        if requested and not faults.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", requested).group(1))
            if start >= len(PAYLOAD):
                self._send_416()
                return
            start = max(start + faults.shift_range, 0)
        body = bytearray(PAYLOAD[start:])
        for pos in faults.corrupt_at:
            if pos >= start:
                body[pos - start] ^= 0xFF
        self._send_headers(start, len(body), partial=bool(requested) and not faults.ignore_range)
        self._send_body(bytes(body), cut, stall)

    def _send_416(self) -> None:
        self.send_response(416)
        self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_headers(self, start: int, length: int, partial: bool) -> None:
        self.send_response(206 if partial else 200)
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.send_header("Content-Length", str(length))  # always the full length, even when cut
        self.end_headers()

    def _send_body(self, body: bytes, cut: int | None, stall: int | None) -> None:
        if stall is not None:
            self.wfile.write(body[:stall])
            self.wfile.flush()
            self.server.release.wait(5)
            self.close_connection = True
        elif cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True  # the server closes the socket: the client sees EOF
            if self.server.faults.reset:
                linger = struct.pack("ii", 1, 0)  # on, 0 s: close() sends RST
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.connection.close()
        else:
            with contextlib.suppress(ConnectionError):  # clients that give up mid-body hang up
                self.wfile.write(body)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    for var in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "maestro-v3.0.0.zip"


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _get(server: _Server, dest: Path, sleeps: list[float], **kwargs) -> Path:
    options = dict(
        retries=3, timeout=2, chunk_size=CHUNK, progress=False, min_free_bytes_margin=0,
        sleep=sleeps.append,
    )  # fmt: skip
    return download(server.url, dest, kwargs.pop("sha256", DIGEST), **{**options, **kwargs})


def _fake_free(monkeypatch: pytest.MonkeyPatch, free: int) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _DiskUsage(free, 0, free))


def test_fresh_download(server, dest, sleeps):
    assert _get(server, dest, sleeps) == dest
    assert dest.read_bytes() == PAYLOAD
    assert not _part(dest).exists()
    assert server.ranges == [None] and sleeps == []


@pytest.mark.parametrize("reset", [False, True], ids=["eof", "tcp-reset"])
def test_dropped_connection_resumes_with_range(server, dest, sleeps, reset):
    cut = 1_000_003  # not a multiple of the chunk size
    server.faults.drop_after, server.faults.reset = cut, reset
    _get(server, dest, sleeps)
    assert sha256_file(dest) == DIGEST
    assert server.ranges[0] is None and len(server.ranges) == 2
    start = int(re.fullmatch(r"bytes=(\d+)-", server.ranges[1]).group(1))
    if reset:  # an RST may discard bytes still in flight; the client asks for what it lacks
        assert 0 < start <= cut
    else:
        assert start == cut
    assert len(sleeps) == 1


def test_stalled_connection_times_out_and_resumes(server, dest, sleeps):
    server.faults.stall_after = 300_000
    _get(server, dest, sleeps, timeout=0.3)
    assert dest.read_bytes() == PAYLOAD
    assert server.ranges[1] is not None and server.ranges[1].startswith("bytes=")


def test_corrupted_bytes_raise_and_leave_nothing(server, dest, sleeps):
    server.faults.corrupt_at = (12_345, 3_000_000)
    corrupted = bytearray(PAYLOAD)
    for pos in server.faults.corrupt_at:
        corrupted[pos] ^= 0xFF
    with pytest.raises(ChecksumError) as err:
        _get(server, dest, sleeps)
    assert DIGEST in str(err.value)
    assert hashlib.sha256(corrupted).hexdigest() in str(err.value)
    assert "rerun" in str(err.value)
    assert not dest.exists() and not _part(dest).exists()


def test_corruption_in_resumed_part_is_caught(server, dest, sleeps):
    _part(dest).write_bytes(b"\0" * 1000 + PAYLOAD[1000:2_000_000])  # wrong bytes already on disk
    with pytest.raises(ChecksumError):
        _get(server, dest, sleeps)
    assert server.ranges == ["bytes=2000000-"]
    assert not dest.exists() and not _part(dest).exists()


@pytest.mark.parametrize("statuses", [[503, 503], [429], [408, 500, 502]])
def test_transient_statuses_are_retried_with_backoff(server, dest, sleeps, statuses):
    server.faults.statuses = list(statuses)
    _get(server, dest, sleeps, backoff=2.0)
    assert dest.read_bytes() == PAYLOAD
    assert len(server.ranges) == len(statuses) + 1
    assert sleeps == [2.0 * 2**k for k in range(len(statuses))]


def test_retries_run_out_and_backoff_is_capped(server, dest, sleeps):
    server.faults.statuses = [503] * 10
    with pytest.raises(DownloadError, match="after 5 attempts"):
        _get(server, dest, sleeps, retries=4, backoff=2.0, max_backoff=5.0)
    assert len(server.ranges) == 5
    assert sleeps == [2.0, 4.0, 5.0, 5.0]
    assert not dest.exists()


@pytest.mark.parametrize("status", [403, 404, 410])
def test_client_errors_fail_without_retry(server, dest, sleeps, status):
    server.faults.statuses = [status] * 5
    with pytest.raises(DownloadError, match=f"HTTP {status}"):
        _get(server, dest, sleeps)
    assert len(server.ranges) == 1 and sleeps == []
    assert not dest.exists()


def test_too_little_disk_space_fails_before_any_request(server, dest, sleeps, monkeypatch):
    _fake_free(monkeypatch, 1000)
    with pytest.raises(DownloadError, match="disk space") as err:
        _get(server, dest, sleeps, expected_size=len(PAYLOAD))
    assert f"{len(PAYLOAD):,} bytes" in str(err.value) and "GB" in str(err.value)
    assert "1,000 bytes) is free" in str(err.value)
    assert server.ranges == []


def test_too_little_space_unknown_size_fails_before_the_body(server, dest, sleeps, monkeypatch):
    _fake_free(monkeypatch, 1000)
    with pytest.raises(DownloadError, match=f"{len(PAYLOAD):,} bytes"):
        _get(server, dest, sleeps)
    assert server.ranges == [None]
    assert not _part(dest).exists()


@pytest.mark.parametrize("spare", [0, -1])
def test_free_space_check_counts_bytes_already_in_part(server, dest, sleeps, monkeypatch, spare):
    held = 1_500_000
    _part(dest).write_bytes(PAYLOAD[:held])
    _fake_free(monkeypatch, len(PAYLOAD) - held + 100 + spare)
    if spare < 0:
        with pytest.raises(DownloadError, match="disk space"):
            _get(server, dest, sleeps, expected_size=len(PAYLOAD), min_free_bytes_margin=100)
        assert server.ranges == []
    else:
        _get(server, dest, sleeps, expected_size=len(PAYLOAD), min_free_bytes_margin=100)
        assert dest.read_bytes() == PAYLOAD


def test_existing_part_is_resumed(server, dest, sleeps):
    held = 2_222_222
    _part(dest).write_bytes(PAYLOAD[:held])
    _get(server, dest, sleeps)
    assert server.ranges == [f"bytes={held}-"]
    assert dest.read_bytes() == PAYLOAD and not _part(dest).exists()


def test_server_ignoring_range_restarts_from_zero(server, dest, sleeps):
    server.faults.ignore_range = True
    _part(dest).write_bytes(b"x" * 1_000_000)  # appending the 200 body to this would fail
    _get(server, dest, sleeps)
    assert server.ranges == ["bytes=1000000-"]
    assert dest.read_bytes() == PAYLOAD


def test_content_range_not_at_requested_offset_is_an_error(server, dest, sleeps):
    server.faults.shift_range = -10
    _part(dest).write_bytes(PAYLOAD[:1_000_000])
    with pytest.raises(DownloadError, match="Content-Range"):
        _get(server, dest, sleeps)
    assert _part(dest).read_bytes() == PAYLOAD[:1_000_000]  # left alone, nothing appended
    assert sleeps == []


def test_complete_part_answered_416_is_verified(server, dest, sleeps):
    _part(dest).write_bytes(PAYLOAD)
    _get(server, dest, sleeps)
    assert server.ranges == [f"bytes={len(PAYLOAD)}-"]
    assert dest.read_bytes() == PAYLOAD and not _part(dest).exists()


def test_complete_part_of_expected_size_needs_no_request(server, dest, sleeps):
    _part(dest).write_bytes(PAYLOAD)
    _get(server, dest, sleeps, expected_size=len(PAYLOAD))
    assert server.ranges == []
    assert dest.read_bytes() == PAYLOAD


def test_size_disagreeing_with_expected_size_is_an_error(server, dest, sleeps):
    with pytest.raises(DownloadError, match="expected"):
        _get(server, dest, sleeps, expected_size=len(PAYLOAD) + 1)
    assert not dest.exists()


def test_existing_dest_with_right_checksum_makes_no_request(server, dest, sleeps):
    dest.write_bytes(PAYLOAD)
    assert _get(server, dest, sleeps) == dest
    assert server.ranges == []


def test_existing_dest_with_wrong_checksum_is_not_overwritten(server, dest, sleeps):
    dest.write_bytes(b"not maestro")
    with pytest.raises(DownloadError, match="delete it"):
        _get(server, dest, sleeps)
    assert dest.read_bytes() == b"not maestro"
    assert server.ranges == []


def test_without_checksum_the_download_is_kept(server, dest, sleeps):
    _get(server, dest, sleeps, sha256=None)
    assert dest.read_bytes() == PAYLOAD


def test_malformed_digest_is_rejected_before_any_request(server, dest, sleeps):
    with pytest.raises(ValueError, match="SHA-256"):
        _get(server, dest, sleeps, sha256="abc123")
    assert server.ranges == []


def test_progress_is_logged_about_every_5_percent(server, dest, sleeps, caplog):
    with caplog.at_level(logging.INFO, logger="tdpr.data.download"):
        _get(server, dest, sleeps)
    lines = [r.getMessage() for r in caplog.records if " % of " in r.getMessage()]
    assert 19 <= len(lines) <= 21
    assert lines[-1].startswith(f"{dest.name}: 100 %")
