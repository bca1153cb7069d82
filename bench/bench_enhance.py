"""Real-time factor of ``Enhancer.enhance`` per TD-CNN, with and without TD-PR phase repair.

Models are built at paper size (seanet 11.0 M, audiounet 56.4 M, demucs 131.4 M parameters, the
TFGAN vocoder 5.9 M) with random weights: the cost of a forward pass does not depend on the
weights. Each cell enhances ``--seconds`` of 16-kHz piano-like audio with the default chunking
(10-s chunks, 1 s of context on each side, 0.25-s cross-fades) after one warm-up call, and
reports the median over ``--repeats`` runs as the real-time factor RTF = processing time /
audio duration (below 1: faster than real time). CPU runs use ``--threads`` torch threads (2);
CUDA runs are added when a GPU is present. Each cell is run in float32 and in bfloat16
(``--dtypes``; autocast of both networks, ``tdpr enhance --dtype``).

``--trained RESULTS`` adds the accuracy of bf16 on real audio: the trained models of a workflow
run (``RESULTS/models/*/model.pt``, ``RESULTS/vocoder/tfgan.pt``) enhance the first
``--clips`` clips of its 3-kHz test set in both dtypes, with TD-PR; the outputs are rounded to
16 bits as the workflow stores them, and the table gives the LSD between the two outputs and
the LSD of each against the clean clip (Table 1's number) with their difference. For scale, it
also runs float32 on the same input moved by one 16-bit step at random (each sample +1, 0 or
-1 LSB, seeded; an inaudible change, the size of a different rounding of the stored test file)
and gives the same two figures for that output: how far LSD moves when nothing but the input's
last bit changes.
The weights that ship with tdpr (:mod:`tdpr.pretrained`) are timed first, in the same run:
each shipped TD-CNN alone and with TD-PR by the shipped vocoder, and the default system of
``tdpr enhance`` (its phase, band and crossover) as times real time.
Run: ``python bench/bench_enhance.py [--trained results] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from tdpr.audio import quantize_pcm16
from tdpr.enhance import DTYPES, Enhancer
from tdpr.metrics import lsd
from tdpr.models import build_model, count_parameters
from tdpr.pretrained import WeightsError, read_manifest, shipped_default, shipped_file
from tdpr.train.checkpoint import load_model

RATE = 16_000
TD_CNNS = ("seanet", "audiounet", "demucs")


def music(seconds: float) -> np.ndarray:
    """Decaying harmonic notes, one per second: ``(T,)`` float32 in [-0.5, 0.5]."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    for start in range(int(seconds)):
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        tt = np.clip(t - start, 0, None)
        note = sum(np.sin(2 * np.pi * k * f0 * tt) / k for k in range(1, int(8000 / f0)))
        out += (t >= start) * note * np.exp(-3 * tt)
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def rtf(enhancer: Enhancer, audio: np.ndarray, repeats: int) -> float:
    """Median processing time over audio duration."""
    enhancer.enhance(audio[: 3 * RATE])  # warm-up: allocator, oneDNN/cuDNN plans
    times = []
    for _ in range(repeats):
        if enhancer.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        enhancer.enhance(audio)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / (len(audio) / RATE)


def devices(choice: str | None) -> list[str]:
    if choice:
        return [choice]
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


#: The tests' tiny models (.test/config.yaml), for a dry run of the code paths (``--tiny``).
TINY = {
    "seanet": {"base_channels": 2, "strides": [2, 4], "latent_dim": 4},
    "audiounet": {"channels": [4, 8], "kernels": [9, 5], "bottleneck_kernel": 3, "final_kernel": 3},
    "demucs": {"channels": 4, "depth": 3, "lstm_layers": 1},
    "tfgan": {"mult": 8, "n_residual_layers": 1},
}


def speed_table(args: argparse.Namespace, audio: np.ndarray) -> None:
    """RTF per model, device and dtype, without and with TD-PR (random paper-size weights)."""
    vocoder = build_model("tfgan", **(TINY["tfgan"] if args.tiny else {}))
    print(f"# vocoder: tfgan, {count_parameters(vocoder) / 1e6:.1f} M parameters")
    print("| model | params | device | dtype | RTF, no phase repair | RTF, with TD-PR |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        model = build_model(name, **(TINY[name] if args.tiny else {}))
        for device in devices(args.device):
            for dtype in args.dtypes:
                with torch.inference_mode():
                    plain = rtf(Enhancer(model, None, device, dtype=dtype), audio, args.repeats)
                    repaired = rtf(
                        Enhancer(model, vocoder, device, dtype=dtype), audio, args.repeats
                    )
                print(
                    f"| {name} | {count_parameters(model) / 1e6:.1f} M | {device} | {dtype} "
                    f"| {plain:.3f} | {repaired:.3f} |",
                    flush=True,
                )
        del model


def shipped_table(args: argparse.Namespace, audio: np.ndarray) -> None:
    """RTF and times real time of the weights that ship (tdpr.pretrained), each TD-CNN alone,
    with TD-PR by the shipped vocoder in the shipped band, and the default of `tdpr enhance`
    (its TD-CNN, phase, band and crossover), measured in the same run as the paper-size table."""
    try:
        default = shipped_default()
        vocoder = load_model(shipped_file("tfgan"))
        names = [n for n, e in read_manifest()["models"].items() if e["kind"] == "tdcnn"]
    except WeightsError as err:
        print(f"# shipped weights: not measured ({err})")
        return
    print(f"# shipped weights; default of `tdpr enhance`: {default.label}")
    print("| shipped model | params | device | RTF, no phase repair | RTF, with TD-PR "
          f"({default.band}) | × real time, default system |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name in names:
        model = load_model(shipped_file(name))
        for device in devices(args.device):
            with torch.inference_mode():
                plain = rtf(Enhancer(model, None, device), audio, args.repeats)
                kw = {"phase": "vocoder", "band": default.band, "cutoff_hz": 3000.0}
                repaired = rtf(Enhancer(model, vocoder, device, **kw), audio, args.repeats)
                fastest = "-"
                if name == default.model:
                    chosen = Enhancer(
                        model, vocoder if default.phase else None, device,
                        phase=default.phase, band=default.band, cutoff_hz=3000.0,
                        keep_band=default.keep_band,
                    )  # fmt: skip
                    fastest = f"{1 / rtf(chosen, audio, args.repeats):.0f}×"
            print(
                f"| {name} | {count_parameters(model) / 1e6:.2f} M | {device} | {plain:.4f} "
                f"| {repaired:.4f} | {fastest} |",
                flush=True,
            )


def accuracy_table(results: Path, clips: int, device: str) -> None:
    """LSD of bf16 against fp32 outputs of trained models on a workflow's 3-kHz test clips."""
    tests = pd.read_csv(results / "testsets" / "3000.csv").head(clips)
    refs = pd.read_csv(results / "clips" / "test.csv").set_index("clip_id")["path"]
    vocoder = load_model(results / "vocoder" / "tfgan.pt")
    print(f"# trained models of {results}, {len(tests)} clips of the 3-kHz test set, TD-PR on,")
    print("# outputs rounded to 16 bits; LSD against the clean clip (Table 1) per dtype;")
    print("# 'input ±1 LSB': float32 on the input moved by one 16-bit step at random, for scale")
    print(
        "| model | LSD(fp32 out, bf16 out) | LSD fp32 | LSD bf16 | difference "
        "| LSD(fp32 out, ±1 LSB out) | difference, ±1 LSB |"
    )
    print("|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    pairs = []  # (input, its ±1-LSB copy, clean reference), read once for every model
    for _, row in tests.iterrows():
        x = sf.read(results / "testsets" / row["path"], dtype="float32")[0]
        ref = sf.read(results / "clips" / refs[row["clip_id"]], dtype="float32")[0]
        nudged = (x + rng.integers(-1, 2, size=x.shape) / 32768.0).astype(np.float32)
        pairs.append((x, nudged, torch.from_numpy(ref)))
    for name in TD_CNNS:
        path = results / "models" / name / "model.pt"
        if not path.is_file():
            continue
        model = load_model(path)
        rows = []
        for x, nudged, ref in pairs:
            out = {}
            for key, audio, d in (
                ("float32", x, "float32"),
                ("bfloat16", x, "bfloat16"),
                ("lsb", nudged, "float32"),
            ):
                enhanced = Enhancer(model, vocoder, device, dtype=d).enhance(audio)
                out[key] = torch.from_numpy(quantize_pcm16(enhanced))
            fp32 = out["float32"][None]
            apart = [float(lsd(fp32, out[k][None])) for k in ("bfloat16", "lsb")]
            rows.append([*apart, *(float(lsd(ref[None], out[k][None])) for k in out)])
        pair, pair_lsb, a, b, c = np.mean(rows, axis=0)
        print(
            f"| {name} | {pair:.3f} | {a:.3f} | {b:.3f} | {b - a:+.3f} "
            f"| {pair_lsb:.3f} | {c - a:+.3f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per run (20)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per cell (3)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (2)")
    parser.add_argument("--models", nargs="+", default=list(TD_CNNS), choices=TD_CNNS)
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES)
    parser.add_argument("--device", help="only this device (default: cpu, and cuda if any)")
    parser.add_argument("--trained", type=Path, metavar="RESULTS", help="a workflow's results/")
    parser.add_argument("--clips", type=int, default=4, help="test clips for --trained (4)")
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny models (dry run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    machine = platform.processor() or platform.machine()
    print(f"# {machine}, torch {torch.__version__}, {args.threads} CPU threads")
    print(f"# {args.seconds:g} s of 16-kHz audio, 10-s chunks, median of {args.repeats}")
    audio = music(args.seconds)
    if not args.tiny:
        shipped_table(args, audio)
    speed_table(args, audio)
    if args.trained:
        accuracy_table(args.trained, args.clips, args.device or "cpu")


if __name__ == "__main__":
    main()
