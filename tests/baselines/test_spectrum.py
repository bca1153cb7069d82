"""Mean spectra: computed from clips and manifests, stored with provenance, read back strictly."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tdpr.baselines.spectrum import (
    SHIPPED,
    MeanSpectrum,
    SpectrumError,
    manifest_spectrum,
    mean_spectrum,
    read_spectrum,
    shipped_spectrum,
    write_spectrum,
)

RATE = 16_000


def tone_clip(path: Path, freq: float, seconds: float = 1.0, silent: float = 0.0) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    x = np.concatenate([0.5 * np.sin(2 * np.pi * freq * t), np.zeros(int(silent * RATE))])
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, RATE, subtype="PCM_16")
    return path


def test_the_mean_is_over_frames_and_silence_is_left_out(tmp_path):
    a = tone_clip(tmp_path / "a.wav", 1000.0, silent=2.0)  # 2 s of digital silence
    b = tone_clip(tmp_path / "b.wav", 3000.0)
    spectrum = mean_spectrum([a, b], {"what": "tones"})
    power = spectrum.power
    # two tones of equal level, each in half the non-silent frames: equal peaks, far above
    assert abs(10 * np.log10(power[64] / power[192])) < 0.5
    assert power[64] > 1e4 * np.median(power)
    alone = mean_spectrum([b]).power
    assert abs(10 * np.log10(alone[192] / power[192]) - 10 * np.log10(2)) < 0.2
    info = spectrum.provenance
    assert info["what"] == "tones" and info["clips"] == 2 and info["seconds"] == 4.0
    assert 2 * 63 <= info["frames"] <= 2 * 66  # about 63 frames per second; silence left out


def test_file_round_trip_is_byte_stable(tmp_path):
    clip = tone_clip(tmp_path / "c.wav", 440.0)
    first = write_spectrum(mean_spectrum([clip], {"n": 1}), tmp_path / "s.json")
    back = read_spectrum(first)
    np.testing.assert_allclose(back.power, mean_spectrum([clip]).power, rtol=1e-4)
    second = write_spectrum(back, tmp_path / "t.json")
    assert first.read_bytes() == second.read_bytes()


def test_manifest_spectrum_names_its_manifest(tmp_path):
    for name, freq in (("x1", 500.0), ("x2", 700.0)):
        tone_clip(tmp_path / "clips" / f"{name}.wav", freq)
    manifest = tmp_path / "train.csv"
    manifest.write_text("clip_id,path\nx2,clips/x2.wav\nx1,clips/x1.wav\n")
    spectrum = manifest_spectrum(manifest)
    assert spectrum.provenance["manifest"] == "train.csv"
    assert len(spectrum.provenance["manifest_sha256"]) == 64
    assert spectrum.to_json() == manifest_spectrum(manifest).to_json()


@pytest.mark.parametrize(
    "body, message",
    [
        ("not json", "cannot read"),
        ('{"format": "other"}', "not a tdpr mean-spectrum file"),
        ('{"format": "tdpr-mean-spectrum", "version": 9}', "unsupported version"),
        ('{"format": "tdpr-mean-spectrum", "version": 1, "sample_rate": 16000, "n_fft": 2048,'
         ' "hop": 256}', "n_fft 1024"),
        ('{"format": "tdpr-mean-spectrum", "version": 1, "sample_rate": 16000, "n_fft": 1024,'
         ' "hop": 256, "power_db": [1, 2]}', "needs 513 bins"),
    ],
)  # fmt: skip
def test_bad_files_are_refused_naming_the_problem(tmp_path, body, message):
    path = tmp_path / "bad.json"
    path.write_text(body)
    with pytest.raises(SpectrumError, match=message):
        read_spectrum(path)


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(SpectrumError, match="not found"):
        read_spectrum(tmp_path / "missing.json")
    with pytest.raises(SpectrumError, match="no clips"):
        mean_spectrum([])
    sf.write(tmp_path / "z.wav", np.zeros(RATE), RATE, subtype="PCM_16")
    with pytest.raises(SpectrumError, match="only silent frames"):
        mean_spectrum([tmp_path / "z.wav"])
    sf.write(tmp_path / "r.wav", np.ones(RATE) * 0.1, 22050, subtype="PCM_16")
    with pytest.raises(SpectrumError, match="22050 Hz"):
        mean_spectrum([tmp_path / "r.wav"])
    with pytest.raises(SpectrumError, match="finite and positive"):
        MeanSpectrum(np.zeros(513))


def test_the_shipped_spectrum_is_piano_and_says_where_it_came_from():
    spectrum = shipped_spectrum()
    info = spectrum.provenance
    assert "MAESTRO" in info["source"] and "CC BY-NC-SA 4.0" in info["source"]
    assert info["split"] == "train" and info["performances"] >= 100 and info["frames"] > 1e5
    db = 10 * np.log10(spectrum.power)
    bins = lambda hz: int(hz / 15.625)  # noqa: E731
    # piano: most power below 1 kHz, falling steadily above (by tens of dB to 7 kHz)
    assert db[bins(200) : bins(1000)].mean() > db[bins(2000) : bins(3000)].mean() + 10
    assert db[bins(3000) : bins(4000)].mean() > db[bins(6000) : bins(7000)].mean() + 5
    readme = Path(__file__).resolve().parents[2] / "src/tdpr/baselines/data/README.md"
    assert "CC BY-NC-SA 4.0" in readme.read_text()
    assert json.loads(spectrum.to_json())["provenance"] == dict(info)


def test_the_shipped_file_is_what_to_json_writes():
    shipped = resources.files("tdpr.baselines") / "data" / SHIPPED
    assert shipped.read_text() == shipped_spectrum().to_json()


def test_a_file_without_provenance_reads_with_an_empty_one(tmp_path):
    body = json.loads(shipped_spectrum().to_json())
    del body["provenance"]
    (tmp_path / "s.json").write_text(json.dumps(body))
    spectrum = read_spectrum(tmp_path / "s.json")
    assert spectrum.provenance == {}
    assert json.loads(spectrum.to_json())["provenance"] == {}


def test_the_mean_runs_in_float64_and_records_seconds_to_the_millisecond():
    from tdpr.baselines.spectrum import mean_of

    x = (np.random.default_rng(0).standard_normal(19752) * 0.1).astype(np.float32)
    narrow, wide = mean_of([x]), mean_of([x.astype(np.float64)])
    assert np.array_equal(np.asarray(narrow.power), np.asarray(wide.power))
    assert narrow.provenance == {"clips": 1, "frames": 78, "seconds": 1.234}  # 19752 / 16000


def test_a_spectrum_given_as_a_list_of_integers_is_kept_as_float64():
    from tdpr.baselines.spectrum import MeanSpectrum

    spectrum = MeanSpectrum(power=[1] * 513)
    assert isinstance(spectrum.power, np.ndarray) and spectrum.power.dtype == np.float64
