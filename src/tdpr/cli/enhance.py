"""Enhance recordings with a trained TD-CNN, with TD-PR phase repair by a TFGAN vocoder, or with
a baseline that needs no learning.

IN is an audio file (OUT is then a .wav file, or an existing folder to write into) or a folder
(OUT is then a folder; every audio file soundfile reads in IN is written there under the same
name with .wav). Inputs may have any rate and any number of channels: they are resampled to
16 kHz and each channel is enhanced on its own; outputs are 16-bit PCM WAV at 16 kHz.

With no --model, the weights that ship with tdpr run (the showcase's, trained on renders of
MAESTRO performance MIDI; `tdpr models` lists them and their model card): the TD-CNN, phase
repair, band and crossover that scored best on its test set; --phase, --band, --keep-band and
--vocoder still override that choice, and the log names the weights used.

Otherwise --model is a final model file of a TD-CNN (seanet, audiounet, demucs), or the name of
a baseline that needs no learning and no file: noisefill (random-phase noise shaped like piano
above the input's bandwidth, at the level of its top band) or replicate (the half-band below the
bandwidth copied upward). They use the mean piano spectrum that ships with tdpr unless
--spectrum gives another (a file of `tdpr.baselines.spectrum`, e.g. the workflow's
results/baselines/mean_spectrum.json); --seed seeds the noise fill. --vocoder is a file of the
TFGAN vocoder (tfgan). --phase picks what replaces the model's phase: vocoder (TD-PR, the default
for a TD-CNN and for a baseline given --vocoder: needs --vocoder), griffinlim (fast Griffin-Lim
from the model output's own phase), pghi (phase-gradient heap integration from the magnitude) or
none (--no-phase-repair is the same; the default for a baseline without --vocoder). --band full
gives the whole band the new phase (the paper); --band hf only the band above the input's
bandwidth, which is estimated per file (and always logged, with a warning outside the 2.5-4 kHz
the models were trained for) unless --cutoff gives it; the baselines use the same bandwidth and
need it between 2 and 7.5 kHz. A checkpoint of the wrong kind
(a vocoder as --model, a TD-CNN as --vocoder, a training state, or not a tdpr file at all) stops
the command before anything is written.

Every input is probed before the first is processed (unreadable, unsupported, empty or shorter
than 513 samples at 16 kHz stops the command with no output). A file found to hold NaN samples
while it is processed gets no output file, and the command stops there with exit status 2; files
finished before it are kept (each output is written atomically).

--dtype bfloat16 runs the TD-CNN under bf16 autocast (the vocoder stays float32): on CPUs with
native bf16 (AVX512-BF16, AMX) about twice as fast, but bf16 rounding noise fills nearly empty
spectral bins, so the output's LSD differs from float32's (bench/bench_enhance.py).

examples:
  tdpr enhance low.wav enhanced.wav
  tdpr enhance low.wav enhanced.wav --model seanet.pt --vocoder tfgan.pt
  tdpr enhance recordings/ enhanced/ --model demucs.pt --no-phase-repair --device cuda
  tdpr enhance old.flac new.wav --model seanet.pt --phase pghi --band hf
  tdpr enhance low.wav filled.wav --model noisefill
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import soundfile as sf
import torch
from torch import nn
from tqdm import tqdm

from tdpr.baselines.spectrum import SpectrumError
from tdpr.cli import CLIError
from tdpr.enhance import DTYPES, Enhancer, enhance_file, probe_audio
from tdpr.inference import load_system
from tdpr.pretrained import WeightsError, shipped_default, shipped_file
from tdpr.registry import BANDS, BASELINE, models_of_kind
from tdpr.train.checkpoint import MODEL_KIND, load_checkpoint, load_model

logger = logging.getLogger(__name__)

VOCODERS = frozenset({"tfgan"})
PHASES = ("vocoder", "griffinlim", "pghi", "none")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``enhance`` arguments."""
    parser.add_argument("input", metavar="IN", type=Path, help="an audio file or a folder")
    parser.add_argument("output", metavar="OUT", type=Path, help="output .wav file or folder")
    parser.add_argument(
        "--model",
        metavar="CKPT|NAME",
        help="a TD-CNN file, or a baseline: "
        f"{', '.join(models_of_kind(BASELINE))} (default: the shipped weights, see tdpr models; "
        "with them the phase, band and --keep-band default to the shipped choice)",
    )
    parser.add_argument("--vocoder", type=Path, metavar="CKPT", help="TFGAN vocoder file")
    parser.add_argument(
        "--no-phase-repair", action="store_true", help="output the TD-CNN's waveform as it is"
    )
    parser.add_argument(
        "--phase",
        choices=PHASES,
        default=None,
        help="what replaces the model's phase (default: vocoder, i.e. TD-PR; none for a baseline "
        "without --vocoder)",
    )
    parser.add_argument(
        "--band",
        choices=tuple(BANDS),
        default=None,
        help="full: the whole band takes the new phase; hf: only above the input's bandwidth "
        "(default: full; with the shipped weights, their choice)",
    )
    parser.add_argument(
        "--cutoff", type=float, metavar="HZ", help="the input's bandwidth (default: estimated)"
    )
    parser.add_argument(
        "--iterations", type=int, default=32, metavar="N", help="Griffin-Lim iterations (32)"
    )
    parser.add_argument(
        "--spectrum",
        type=Path,
        metavar="FILE",
        help="a baseline's mean spectrum (default: shipped)",
    )
    parser.add_argument(
        "--keep-band",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="give back the input itself below its bandwidth and the enhanced signal only above "
        "it (a crossover at the cutoff, after any phase repair; default: off, with the shipped "
        "weights their choice)",
    )
    parser.add_argument(
        "--keep-rate",
        action="store_true",
        help="write the output at the input's own rate (default: 16 kHz, the models' rate; "
        "nothing is made above 8 kHz either way)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise fill (0)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument(
        "--chunk-seconds", type=float, default=10.0, metavar="S", help="chunk length (10)"
    )
    parser.add_argument(
        "--dtype",
        choices=DTYPES,
        default="float32",
        help="precision of the TD-CNN (float32; bfloat16: autocast; the vocoder stays float32)",
    )


def _audio_extensions() -> set[str]:
    """File extensions taken from a folder: libsndfile's formats and their usual aliases."""
    return {f".{name.lower()}" for name in sf.available_formats()} | {".aif", ".oga", ".opus"}


def _jobs(source: Path, target: Path) -> list[tuple[Path, Path]]:
    """Pairs ``(input file, output .wav file)``."""
    if source.is_dir():
        exts = _audio_extensions()
        files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in exts)
        if not files:
            raise CLIError(f"no audio files in folder {source}")
        if target.exists() and not target.is_dir():
            raise CLIError(f"input {source} is a folder, so output {target} must be one too")
        if target.resolve() == source.resolve():
            raise CLIError(f"output folder {target} must differ from the input folder")
        names = [p.stem + ".wav" for p in files]
        if len(set(names)) != len(names):
            raise CLIError(f"two files in {source} would both be written as the same .wav")
        return [(p, target / name) for p, name in zip(files, names, strict=True)]
    if not source.exists():
        raise CLIError(f"input not found: {source}")
    if target.is_dir():
        return [(source, target / (source.stem + ".wav"))]
    if target.suffix.lower() != ".wav":
        raise CLIError(f"output {target} must be a .wav file (or an existing folder)")
    return [(source, target)]


def _load_model(model: str, args: argparse.Namespace) -> nn.Module:
    """The TD-CNN file or the named baseline of ``--model``."""
    if model in models_of_kind(BASELINE):
        try:
            return load_system(model, spectrum_path=args.spectrum, seed=getattr(args, "seed", 0))
        except SpectrumError as err:
            raise CLIError(f"--spectrum: {err}") from err
    if getattr(args, "spectrum", None) is not None:
        raise CLIError("--spectrum is for the baselines (noisefill, replicate), not a model file")
    return _load(Path(model), "model", args.device)


def _load(path: Path, role: str, device: str) -> nn.Module:
    """Load a final model file and check it is a TD-CNN (``role="model"``) or a vocoder."""
    try:
        name = load_checkpoint(path, MODEL_KIND)["model"]
    except (ValueError, FileNotFoundError):
        raise
    except Exception as err:  # torch.load on arbitrary bytes can raise almost anything
        raise CLIError(f"cannot read {path} as a tdpr checkpoint: {type(err).__name__}") from err
    if role == "vocoder" and name not in VOCODERS:
        raise CLIError(f"--vocoder {path} holds a {name!r} model, not a vocoder (tfgan)")
    if role == "model" and name in VOCODERS:
        raise CLIError(f"--model {path} holds the vocoder {name!r}; pass it as --vocoder")
    return load_model(path, map_location=device)


def _shipped_defaults(args: argparse.Namespace) -> None:
    """Fill ``args`` from the shipped weights' choice where the command line left it open."""
    try:
        default = shipped_default()
        args.model = str(shipped_file(default.model))
        if args.vocoder is None and default.vocoder is not None:
            args.vocoder = shipped_file(default.vocoder)
    except WeightsError as err:
        raise CLIError(f"{err}; pass --model CKPT or a baseline name") from err
    if getattr(args, "phase", None) is None and not args.no_phase_repair:
        args.phase = default.phase or "none"
    if getattr(args, "band", None) is None:
        args.band = default.band
    if getattr(args, "keep_band", None) is None:
        args.keep_band = default.keep_band
    logger.info(
        "using the shipped weights: %s (%s%s; mean LSD %.3f on the showcase's test set; "
        "tdpr models lists them)",
        default.label,
        Path(args.model).name,
        f", {Path(args.vocoder).name}" if args.phase == "vocoder" else "",
        default.lsd,
    )


def build_enhancer(args: argparse.Namespace) -> Enhancer:
    """Load the checkpoints named on the command line into an :class:`Enhancer`.

    With no ``--model``, the shipped weights and their choice of phase, band and crossover
    (:mod:`tdpr.pretrained`), each overridden by its own option where given.
    """
    if getattr(args, "model", None) is None:
        _shipped_defaults(args)
    baseline = str(args.model) in models_of_kind(BASELINE)
    if not baseline and not Path(args.model).exists():
        known = ", ".join(models_of_kind(BASELINE))
        raise CLIError(f"--model {args.model}: file not found, and not a baseline ({known})")
    phase = getattr(args, "phase", None)
    if phase is None:
        phase = "none" if baseline and args.vocoder is None else "vocoder"
    phase = "none" if args.no_phase_repair else phase
    if phase == "vocoder" and args.vocoder is None:
        raise CLIError(
            "phase repair needs --vocoder CKPT; pass --phase griffinlim or pghi for a phase "
            "without one, or --no-phase-repair to skip it"
        )
    if args.vocoder is not None and phase != "vocoder":
        logger.warning("--phase %s: the vocoder %s is not used", phase, args.vocoder)
    cutoff = getattr(args, "cutoff", None)
    if cutoff is not None and not 0 < cutoff < 8000:
        raise CLIError(f"--cutoff {cutoff:g} Hz must lie inside (0, 8000) Hz")
    try:
        device = torch.device(args.device)
    except RuntimeError as err:
        raise CLIError(f"unknown --device {args.device!r}: {err}") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CLIError(f"--device {args.device}: CUDA is not available here")
    model = _load_model(str(args.model), args)
    vocoder = _load(args.vocoder, "vocoder", args.device) if phase == "vocoder" else None
    if phase == "none":
        logger.info("phase repair is off: writing the model's output as it is")
    dtype = getattr(args, "dtype", "float32")
    return Enhancer(
        model, vocoder, device=device, chunk_seconds=args.chunk_seconds, dtype=dtype,
        phase=None if phase == "none" else phase, band=getattr(args, "band", None) or "full",
        phase_settings={"iterations": getattr(args, "iterations", 32)},
        keep_band=bool(getattr(args, "keep_band", False)),
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Enhance every input file; exit status 2 with a one-line message on bad input."""
    jobs = _jobs(args.input, args.output)
    for source, _ in jobs:
        probe_audio(source)
    enhancer = build_enhancer(args)
    tty = sys.stderr.isatty()
    for source, target in tqdm(jobs, disable=not tty or len(jobs) == 1, unit="file"):
        enhance_file(source, target, enhancer, progress=tty, cutoff_hz=args.cutoff,
                     keep_rate=args.keep_rate)  # fmt: skip
    logger.info("enhanced %d file(s) into %s", len(jobs), args.output)
    return 0
