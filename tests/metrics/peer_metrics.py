"""The peers' own LSD code, loaded by path from ``../shared/vendor/peer-metrics`` (never copied).

The snapshots are unmodified (see that folder's README). What they import but ``cal_lsd`` and
``get_lsd`` never use (torchaudio, rich, sox) is a stub module while the file loads. NU-Wave 2's
``cal_lsd`` is nested inside ``test(args)``, so its definition is taken from the file's syntax
tree and compiled alone. NU-Wave 2's and AERO's ``STFTMag`` were written for torch 1.x, whose
``torch.stft`` returned a real ``(..., 2)`` tensor by default: :func:`torch1_stft` restores that
default while they run.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest
import torch
from conftest import SHARED

VENDOR = SHARED / "vendor" / "peer-metrics"
needs_vendor = pytest.mark.skipif(
    not VENDOR.is_dir(), reason=f"the peers' metric code is not at {VENDOR}"
)


def load(path: Path, name: str, stubs: Mapping[str, Mapping[str, object]] = {}):  # noqa: B006
    """Import the file at ``path`` as module ``name``, with ``stubs`` (module -> attributes)
    standing in for imports while it loads."""
    saved = {module: sys.modules.get(module) for module in stubs}
    try:
        for module, attributes in stubs.items():
            stub = types.ModuleType(module)
            stub.__dict__.update(attributes)
            sys.modules[module] = stub
        spec = importlib.util.spec_from_file_location(name, path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
    finally:
        for module, previous in saved.items():
            if previous is None:
                sys.modules.pop(module, None)
            else:
                sys.modules[module] = previous
    return loaded


@contextlib.contextmanager
def torch1_stft() -> Iterator[None]:
    """``torch.stft`` without ``return_complex`` returns ``view_as_real`` of the complex result,
    as torch 1.x did (torch 2 raises instead)."""
    original = torch.stft

    def stft(*args, **kwargs):
        if kwargs.get("return_complex") is None:
            kwargs["return_complex"] = True
            return torch.view_as_real(original(*args, **kwargs))
        return original(*args, **kwargs)

    torch.stft = stft
    try:
        yield
    finally:
        torch.stft = original


@cache
def apbwe():
    """AP-BWE's ``cal_metrics`` module (``cal_lsd(pred, target)``)."""
    stubs = {"torchaudio": {}, "rich": {}, "rich.progress": {"track": None}}
    return load(VENDOR / "AP-BWE" / "cal_metrics.py", "peer_apbwe_cal_metrics", stubs)


@cache
def aero():
    """AERO's ``src/metrics.py`` (``get_lsd(ref_sig, out_sig)``)."""
    return load(VENDOR / "aero" / "src" / "metrics.py", "peer_aero_metrics", {"sox": {}})


@cache
def nuwave2_cal_lsd() -> Callable:
    """NU-Wave 2's ``cal_lsd(pred, target, hf) -> (lsd, lsd_hf, lsd_lf)``, on its own STFTMag."""
    stft_module = load(VENDOR / "nuwave2" / "utils" / "stft.py", "peer_nuwave2_stft")
    path = VENDOR / "nuwave2" / "for_test.py"
    tree = ast.parse(path.read_text())
    test = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "test")
    cal_lsd = next(n for n in test.body if isinstance(n, ast.FunctionDef) and n.name == "cal_lsd")
    namespace = {"torch": torch, "stft": stft_module.STFTMag(2048, 512)}
    exec(compile(ast.Module(body=[cal_lsd], type_ignores=[]), str(path), "exec"), namespace)
    return namespace["cal_lsd"]


def torchaudio_spectrogram(
    waveform, pad, window, n_fft, hop_length, win_length, power, normalized, center=True,
    pad_mode="reflect", onesided=True,
):  # fmt: skip
    """A stand-in for ``torchaudio.functional.spectrogram`` as its documentation describes it
    (``torch.stft`` of the zero-padded waveform, then ``|X|**power``); mdctGAN cannot load the
    real one here, since no torchaudio build matches the installed torch."""
    if pad > 0:
        waveform = torch.nn.functional.pad(waveform, (pad, pad))
    shape = waveform.shape
    spec = torch.stft(
        waveform.reshape(-1, shape[-1]), n_fft, hop_length, win_length, window, center,
        pad_mode, False, onesided, return_complex=True,
    )  # fmt: skip
    spec = spec.reshape(*shape[:-1], *spec.shape[-2:])
    if normalized:
        spec = spec / window.pow(2.0).sum().sqrt()
    return spec.abs().pow(power)


@cache
def mdctgan():
    """mdctGAN's ``util/util.py`` with the torchaudio stand-in (``compute_matrics``, ``kbdwin``)."""
    functional = {"spectrogram": torchaudio_spectrogram}
    stubs = {"torchaudio": {}, "torchaudio.functional": functional}
    return load(VENDOR / "mdctGAN" / "util" / "util.py", "peer_mdctgan_util", stubs)
