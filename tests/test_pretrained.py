"""Shipped weights: the export of a run, the default it chooses, its checks, and `tdpr enhance`
and `tdpr models` with them."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from conftest import piano_like

import tdpr.pretrained as pretrained
from tdpr.cli import main
from tdpr.data.download import sha256_file
from tdpr.enhance import Enhancer
from tdpr.models import build_model
from tdpr.pretrained import WeightsError, choose_default, compare_weights, export_weights
from tdpr.train.checkpoint import load_model, save_model

SEANET = {"base_channels": 4, "strides": [2, 4], "latent_dim": 8}
TFGAN = {"mult": 8, "n_residual_layers": 2}
CUTOFFS = (2500, 3000)

pytestmark = pytest.mark.usefixtures("one_thread")


def summary(lsd: dict[tuple[str, str], float]) -> pd.DataFrame:
    """A metric summary with one LSD per (model, variant), the same at every cutoff."""
    rows = [
        {"model": m, "variant": v, "cutoff": c, "metric": "lsd", "mean": value, "std": 0.1,
         "n_clips": 4}
        for (m, v), value in lsd.items()
        for c in CUTOFFS
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_the_default_is_the_lowest_mean_lsd_among_what_enhance_reproduces():
    table = summary({
        ("seanet", "plain"): 1.30, ("seanet", "tdpr"): 1.25, ("seanet", "vocoder_hf_kb"): 1.10,
        ("seanet", "gtphase"): 0.90,  # an oracle: tdpr enhance cannot run it
        ("demucs", "kb"): 1.15, ("noisefill", "plain"): 1.00,  # a baseline: not shipped
    })  # fmt: skip
    default = choose_default(table, ["seanet", "demucs"], "tfgan")
    assert (default.system, default.model, default.vocoder) == (
        "seanet_vocoder_hf_kb",
        "seanet",
        "tfgan",
    )
    assert (default.phase, default.band, default.keep_band, default.lsd) == (
        "vocoder",
        "hf",
        True,
        1.1,
    )
    kept = choose_default(
        summary({("demucs", "kb"): 1.2, ("demucs", "tdpr"): 1.3}), ["demucs"], "tfgan"
    )
    assert (kept.system, kept.phase, kept.vocoder, kept.band, kept.keep_band) == (
        "demucs_kb", None, None, "full", True)  # fmt: skip
    with pytest.raises(ValueError, match="no LSD of audiounet"):
        choose_default(table, ["audiounet"], "tfgan")


@pytest.fixture
def weights(tmp_path, monkeypatch) -> Path:
    """A weights folder exported from tiny random models, installed as the shipped one."""
    torch.manual_seed(0)
    files, histories = {}, {}
    for name, kwargs in (("seanet", SEANET), ("tfgan", TFGAN)):
        files[name] = save_model(
            tmp_path / f"{name}.pt", name, kwargs, build_model(name, **kwargs), {}
        )
        history = pd.DataFrame({"epoch": [1, 2], "step": [10, 20], "seconds": [30.0, 31.0]})
        histories[name] = tmp_path / f"{name}-history.csv"
        history.to_csv(histories[name], index=False)
    summary({("seanet", "plain"): 1.3, ("seanet", "vocoder_hf"): 1.2}).to_csv(
        tmp_path / "summary.csv", index=False
    )
    (tmp_path / "table1.md").write_text("| System | 2.5 kHz |\n|---|---|\n| SEANet | 1.30 |\n")
    (tmp_path / "renders.csv").write_text(
        "# FluidSynth runtime version 2.3.1; seed 0; 44100 Hz\n"
        "midi_filename,split,soundfont,program,soundfont_sha256,seconds\n"
        "a.midi,train,FluidR3_GM.sf2,0,00,120.0\nb.midi,test,TimGM6mb.sf2,1,00,60.0\n"
    )
    out = tmp_path / "weights"
    export_weights(
        files, histories, tmp_path / "summary.csv", out, config_name="config/x.yaml",
        table1_md=tmp_path / "table1.md", renders_csv=tmp_path / "renders.csv",
    )  # fmt: skip
    monkeypatch.setattr(pretrained, "weights_dir", lambda: out)
    return out


def test_export_writes_models_manifest_and_card(weights):
    manifest = json.loads((weights / "manifest.json").read_text())
    assert sorted(p.name for p in weights.iterdir()) == [
        "MODEL_CARD.md", "manifest.json", "seanet.pt", "tfgan.pt"]  # fmt: skip
    seanet = manifest["models"]["seanet"]
    assert (seanet["kind"], seanet["steps"], seanet["train_seconds"]) == ("tdcnn", 20, 61.0)
    assert seanet["lsd"] == {"2500": 1.3, "3000": 1.3}
    assert manifest["default"]["system"] == "seanet_vocoder_hf"
    card = (weights / "MODEL_CARD.md").read_text()
    assert "SEANet+TD-PR (HF)" in card and "| test | TimGM6mb.sf2 | 1 | 1 |" in card
    assert "CC BY-NC-SA 4.0" in card and "| SEANet | 1.30 |" in card
    assert pretrained.shipped_file("seanet") == weights / "seanet.pt"


def test_an_altered_or_missing_file_is_refused(weights):
    with open(weights / "tfgan.pt", "ab") as f:
        f.write(b"\0")
    with pytest.raises(WeightsError, match="tfgan.*does not match its SHA-256"):
        pretrained.shipped_file("tfgan")
    with pytest.raises(WeightsError, match="no shipped model 'demucs'; shipped: seanet, tfgan"):
        pretrained.shipped_file("demucs")
    (weights / "manifest.json").unlink()
    with pytest.raises(WeightsError, match="no shipped weights"):
        pretrained.shipped_default()


def test_enhance_with_no_model_runs_the_shipped_choice_and_says_so(tmp_path, weights, caplog):
    """No --model: the shipped TD-CNN with TD-PR by the shipped vocoder in the chosen band,
    on a 44.1-kHz stereo file and on a folder; options still override the choice."""
    audio = piano_like(1.5, 44_100, channels=2)
    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "a.wav", audio, 44_100)
    with caplog.at_level(logging.INFO, logger="tdpr"):
        assert (
            main(
                [
                    "enhance",
                    str(tmp_path / "in" / "a.wav"),
                    str(tmp_path / "a.wav"),
                    "--cutoff",
                    "3000",
                ]
            )
            == 0
        )
    assert "using the shipped weights: SEANet+TD-PR (HF) (seanet.pt, tfgan.pt" in caplog.text
    got, rate = sf.read(tmp_path / "a.wav", dtype="float32")
    assert rate == 16_000 and got.shape[1] == 2
    model, vocoder = load_model(weights / "seanet.pt"), load_model(weights / "tfgan.pt")
    x, _ = sf.read(tmp_path / "in" / "a.wav", dtype="float32")
    from tdpr.audio import resample

    left = resample(x[:, 0], 44_100, 16_000)
    want = Enhancer(model, vocoder, phase="vocoder", band="hf", cutoff_hz=3000.0).enhance(left)
    np.testing.assert_allclose(got[:, 0], want, atol=2 / 32768)
    assert main(["enhance", str(tmp_path / "in"), str(tmp_path / "out"), "--cutoff", "3000"]) == 0
    assert (tmp_path / "out" / "a.wav").is_file()
    # an option given on the command line wins over the shipped choice
    assert main(["enhance", str(tmp_path / "in" / "a.wav"), str(tmp_path / "b.wav"),
                 "--cutoff", "3000", "--no-phase-repair"]) == 0  # fmt: skip
    plain = Enhancer(model, None).enhance(left)
    np.testing.assert_allclose(
        sf.read(tmp_path / "b.wav", dtype="float32")[0][:, 0], plain, atol=2 / 32768
    )


def test_enhance_with_no_model_and_no_weights_names_the_way_out(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "weights_dir", lambda: tmp_path / "none")
    sf.write(tmp_path / "a.wav", piano_like(1.0, 16_000, 1), 16_000)
    assert main(["enhance", str(tmp_path / "a.wav"), str(tmp_path / "b.wav")]) == 2
    assert not (tmp_path / "b.wav").exists()


def test_models_lists_the_shipped_weights(weights, capsys):
    assert main(["models", "--shipped"]) == 0
    out = capsys.readouterr().out
    assert (
        "seanet" in out and "tfgan" in out and "default of `tdpr enhance`: SEANet+TD-PR (HF)" in out
    )
    assert main(["models", "--shipped", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["default"]["model"] == "seanet"


def _ship_weights_tool():
    path = Path(__file__).resolve().parents[1] / "tools" / "ship_weights.py"
    spec = importlib.util.spec_from_file_location("ship_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_rerun_is_compared_with_the_shipped_weights_tensor_by_tensor(tmp_path, weights, capsys):
    """``ship_weights.py --compare``: the same tensors pass whatever the file's metadata; one
    changed tensor, another model set or a corrupt file do not."""
    run = tmp_path / "run"
    shutil.copytree(weights, run)
    # The same tensors in a file that records other versions: the same weights, not the same file.
    seanet = torch.load(run / "seanet.pt", weights_only=True)
    seanet["versions"] = {**seanet["versions"], "torch": "0.0.0"}
    torch.save(seanet, run / "seanet.pt")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["models"]["seanet"]["sha256"] = sha256_file(run / "seanet.pt")
    manifest["models"]["seanet"]["lsd"]["2500"] = 1.31
    (run / "manifest.json").write_text(json.dumps(manifest))
    rows = {row.name: row for row in compare_weights(run, weights)}
    assert set(rows) == {"seanet", "tfgan"}
    assert rows["tfgan"].same_file and rows["tfgan"].same_weights
    assert not rows["seanet"].same_file and rows["seanet"].same_weights
    assert rows["seanet"].tensors == len(seanet["state"]) > 1
    assert rows["seanet"].lsd == {"2500": (1.31, 1.3), "3000": (1.3, 1.3)}
    tool = _ship_weights_tool()
    assert tool.compare(run, weights) == 0
    assert "ship_weights: the same weights" in capsys.readouterr().out

    # One tensor moved by 1e-3: that model differs, by that much, and the tool says so.
    name = sorted(seanet["state"])[1]
    seanet["state"][name] = seanet["state"][name] + 1e-3
    torch.save(seanet, run / "seanet.pt")
    manifest["models"]["seanet"]["sha256"] = sha256_file(run / "seanet.pt")
    (run / "manifest.json").write_text(json.dumps(manifest))
    rows = {row.name: row for row in compare_weights(run, weights)}
    assert (rows["seanet"].differing, rows["tfgan"].differing) == (1, 0)
    assert rows["seanet"].max_abs_diff == pytest.approx(1e-3, rel=1e-3)
    assert tool.compare(run, weights) == 1
    out = capsys.readouterr().out
    assert "ship_weights: differs: seanet" in out and "| seanet | " in out

    # A file that fails its SHA-256, or a run with other models: bad input, named.
    with open(run / "tfgan.pt", "ab") as f:
        f.write(b"\0")
    with pytest.raises(WeightsError, match="tfgan.*does not match its SHA-256"):
        compare_weights(run, weights)
    del manifest["models"]["tfgan"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="holds seanet; the reference holds seanet, tfgan"):
        compare_weights(run, weights)
    assert tool.compare(run, weights) == 2
    assert "the reference holds" in capsys.readouterr().err


def test_shipping_a_rerun_keeps_the_models_it_reproduced(tmp_path, weights, monkeypatch, capsys):
    """``ship_weights.py --no-run``: a model with the shipped tensors keeps the shipped file
    and record (its training minutes); a changed one is replaced, with its own."""
    run = tmp_path / "run"
    shutil.copytree(weights, run)
    manifest = json.loads((run / "manifest.json").read_text())
    for name, change in (("seanet", 0.0), ("tfgan", 1e-3)):  # same tensors / one moved
        model = torch.load(run / f"{name}.pt", weights_only=True)
        model["versions"] = {**model["versions"], "torch": "0.0.0"}
        first = sorted(model["state"])[0]
        model["state"][first] = model["state"][first] + change
        torch.save(model, run / f"{name}.pt")
        manifest["models"][name]["sha256"] = sha256_file(run / f"{name}.pt")
        manifest["models"][name]["train_seconds"] = 6000.0  # a paused rerun: 100 minutes
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "MODEL_CARD.md").write_text(
        pretrained.model_card(manifest, "| System |\n|---|\n", None, tmp_path / "renders.csv")
    )
    shipped = {name: sha256_file(weights / f"{name}.pt") for name in ("seanet", "tfgan")}
    tool = _ship_weights_tool()
    monkeypatch.setattr(tool, "TARGET", weights)
    args = ["--no-run", "--weights", str(run), "--figure", str(tmp_path / "none.png")]
    assert tool.main(args) == 0
    assert "file and record kept: seanet\n" in capsys.readouterr().out
    now = json.loads((weights / "manifest.json").read_text())["models"]
    assert sha256_file(weights / "seanet.pt") == shipped["seanet"] == now["seanet"]["sha256"]
    assert now["seanet"]["train_seconds"] == 61.0 and now["tfgan"]["train_seconds"] == 6000.0
    assert sha256_file(weights / "tfgan.pt") == manifest["models"]["tfgan"]["sha256"]
    card = (weights / "MODEL_CARD.md").read_text()
    assert "| seanet | tdcnn |" in card and "| 20 | 1.0 | 1.300 |" in card
    assert "| tfgan | vocoder |" in card and "| 20 | 100.0 | - |" in card
    assert card.count("## Models") == 1 and "## Licence" in card
    pretrained.shipped_file("seanet"), pretrained.shipped_file("tfgan")  # SHA-256s agree

    assert tool.main([*args, "--replace-all"]) == 0  # every file the run's
    assert "kept" not in capsys.readouterr().out
    assert sha256_file(weights / "seanet.pt") == manifest["models"]["seanet"]["sha256"]
