"""``tdpr listen`` and ``tdpr ratings``: clear errors, a served root, results left where it says.

The session posted here is synthetic, written only to see webMUSHRA's write.php store it where
``tdpr listen`` says; it is no result.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tdpr.cli import main
from tdpr.report.webmushra import default_webmushra_dir, free_port


def _kit(folder: Path) -> Path:
    (folder / "configs").mkdir(parents=True)
    (folder / "configs/tdpr_ab.yaml").write_text('testname: "x"\n', encoding="utf-8")
    return folder


def test_listen_names_what_is_missing(tmp_path, monkeypatch, capsys):
    kit = _kit(tmp_path / "kit")
    monkeypatch.delenv("TDPR_WEBMUSHRA", raising=False)
    assert main(["listen", str(kit), "--webmushra", str(tmp_path / "none")]) == 2
    assert "github.com/audiolabs/webMUSHRA" in capsys.readouterr().err
    fake = tmp_path / "webmushra"
    (fake / "service").mkdir(parents=True)
    for name in ("index.html", "startup.js", "service/write.php"):
        (fake / name).write_text("")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["listen", str(kit), "--webmushra", str(fake)]) == 2
    assert "php-cli" in capsys.readouterr().err
    assert sorted(p.name for p in fake.iterdir()) == ["index.html", "service", "startup.js"]


def _ctrl_c_works() -> None:
    """In the child: take SIGINT's default action back (Python then raises KeyboardInterrupt).

    A shell without job control starts background commands with SIGINT ignored, and children
    inherit that: under ``pytest &`` the test's Ctrl-C would never reach ``tdpr listen``.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_listen(kit: Path, port: int, **popen) -> subprocess.Popen:
    """``tdpr listen KIT --port PORT`` in a child process (skips without webMUSHRA or PHP)."""
    webmushra = default_webmushra_dir()
    if webmushra is None or shutil.which("php") is None:
        pytest.skip("needs webMUSHRA (TDPR_WEBMUSHRA=DIR) and php (Debian: php-cli)")
    cmd = [sys.executable, "-c", "import sys; from tdpr.cli import main; sys.exit(main())"]
    cmd += ["listen", str(kit), "--webmushra", str(webmushra), "--port", str(port)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, **popen)


def test_listen_serves_the_kit_and_says_where_results_are(tmp_path):
    kit, port = _kit(tmp_path / "kit"), free_port()
    listen = _start_listen(kit, port, env=os.environ.copy(), preexec_fn=_ctrl_c_works)
    try:
        lines = [listen.stdout.readline() for _ in range(3)]
        url = lines[1].split()[-1]
        assert url == f"http://127.0.0.1:{port}/index.html?config=tdpr_ab.yaml"
        assert b"webMUSHRA" in urllib.request.urlopen(url, timeout=5).read()
        config = f"http://127.0.0.1:{port}/configs/tdpr_ab.yaml"
        assert urllib.request.urlopen(config, timeout=5).read() == b'testname: "x"\n'
        session = {
            "testId": "tdpr_ab_seanet", "uuid": "u",
            "participant": {"name": ["listener"], "response": ["L1"]},
            "trials": [{"type": "likert_single_stimulus", "id": "p02", "responses": [
                {"stimulus": "tdcnn_gtphase", "stimulusRating": ["gtphase"], "time": 1}]}],
        }  # fmt: skip
        body = "sessionJSON=" + json.dumps(session)  # webMUSHRA posts it unencoded
        post = urllib.request.Request(f"http://127.0.0.1:{port}/service/write.php", body.encode())
        assert urllib.request.urlopen(post, timeout=5).read() == b""
    finally:
        listen.send_signal(signal.SIGINT)
        out, _ = listen.communicate(timeout=20)
    assert listen.returncode == 0
    assert f"Results: {kit.resolve() / 'results'} (1 CSV file(s) so far)" in out
    assert "tdpr ratings" in out
    lss = pd.read_csv(kit / "results/tdpr_ab_seanet/lss.csv")
    assert lss[["trial_id", "stimuli_rating"]].values.tolist() == [["p02", "gtphase"]]
    assert main(["ratings", str(kit / "results"), "--out-dir", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs/ab_preference.png").is_file()
    assert not (tmp_path / "figs/mos.png").exists()  # no MOS ratings, no Fig. 3


def test_listen_stops_cleanly_on_sigterm(tmp_path):
    """A process manager's SIGTERM stops the PHP server too and removes the temporary root."""
    kit, port = _kit(tmp_path / "kit"), free_port()
    (tmp_path / "tmp").mkdir()
    listen = _start_listen(kit, port, env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
    try:
        [listen.stdout.readline() for _ in range(3)]
        urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5).read()
    finally:
        listen.terminate()
        out, _ = listen.communicate(timeout=20)
    assert listen.returncode == 0 and "Results:" in out
    with pytest.raises(OSError):  # nothing listens on the port any more
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert list((tmp_path / "tmp").iterdir()) == []
