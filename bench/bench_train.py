"""Training speed of the TD-CNNs: fp32 eager against bf16 autocast (+ torch.compile), side by side.

For each model, the same batch of degraded crops goes through forward, the TD-CNN loss, backward
and an Adam step; the script prints steps/s per mode and the ratio to fp32 eager, measured in one
run. The modes are fp32 eager, bf16 autocast, and bf16 + ``torch.compile``, on CUDA and on the
CPU alike (compiling on a CPU needs a C++ compiler; the compile time is not counted, only steps
after two warm-up steps). Paper-size models by default (``--small``: the demo's models);
``tfgan`` is the vocoder's adversarial step (generator and both discriminators, batch 16 of
1-s segments, in fp32: its recipe has no bf16 path), for ``tdpr plan``.
``--json FILE`` also writes the figures for ``tdpr plan``.

Run: ``python bench/bench_train.py [--device cpu] [--small] [--batch 12] [--seconds 5]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import torch

from tdpr.models import build_model, count_parameters
from tdpr.models.tfgan import FrequencyDiscriminator, MultiScaleDiscriminator
from tdpr.train.losses import TDCNNLoss
from tdpr.train.vocoder_losses import GeneratorLoss, gan_step

SMALL = {
    "seanet": {"base_channels": 6},
    "audiounet": {"channels": (16, 32, 64, 64), "kernels": (33, 17, 9, 9)},
    "demucs": {"channels": 16, "depth": 5},
}
SMALL_TFGAN = {"mult": 32, "n_residual_layers": 2}
TINY_TFGAN = {"mult": 8, "n_residual_layers": 1}
#: The test configuration's models (.test/config.yaml): a dry run of the code paths only.
TINY = {
    "seanet": {"base_channels": 2, "strides": [2, 4], "latent_dim": 4},
    "audiounet": {"channels": [4, 8], "kernels": [9, 5], "bottleneck_kernel": 3, "final_kernel": 3},
    "demucs": {"channels": 4, "depth": 3, "lstm_layers": 1},
}
VOCODER_BATCH, VOCODER_SAMPLES = 16, 16_000


def vocoder_steps_per_second(
    device: torch.device,
    steps: int,
    arch: dict,
    batch: int = VOCODER_BATCH,
    samples: int = VOCODER_SAMPLES,
) -> float:
    """Steps/s of the TFGAN recipe past ``adv_start_step`` (the expensive part), fp32."""
    torch.manual_seed(0)
    gen = build_model("tfgan", **arch).to(device)
    discs = [MultiScaleDiscriminator().to(device), FrequencyDiscriminator().to(device)]
    d_params = [p for d in discs for p in d.parameters()]
    opts = (torch.optim.Adam(gen.parameters(), 2e-4), torch.optim.Adam(d_params, 2e-4))
    loss = GeneratorLoss().to(device)
    x = 0.1 * torch.randn(batch, 1, samples, device=device)

    def step() -> None:
        gan_step(gen, discs, opts, x, 1, 0, loss=loss)

    return _timed(step, steps, device)


def _timed(step, steps: int, device: torch.device) -> float:
    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


#: mode name -> (bf16 autocast, torch.compile)
MODES = {"fp32": (False, False), "bf16": (True, False), "bf16+compile": (True, True)}


def steps_per_second(name, kwargs, device, batch, samples, steps, bf16, compile_) -> float:
    """Steps/s of one model in one mode (after two warm-up steps)."""
    torch.manual_seed(0)
    model = build_model(name, **kwargs).to(device)
    forward = torch.compile(model) if compile_ else model
    loss_fn = TDCNNLoss().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = 0.1 * torch.randn(batch, 1, samples, device=device)
    y = 0.1 * torch.randn(batch, 1, samples, device=device)
    ctx = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def step() -> None:
        with ctx:
            est = forward(x)
        loss, _ = loss_fn(est.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return _timed(step, steps, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=5.0, help="crop length at 16 kHz")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--small", action="store_true", help="the demo's small models")
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny models")
    parser.add_argument("--models", nargs="+", default=list(SMALL), choices=[*SMALL, "tfgan"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--json", metavar="FILE", help="also write {model: {mode: steps/s}}")
    args = parser.parse_args()
    device = torch.device(args.device)
    modes = [(m, *MODES[m]) for m in args.modes]
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    print(f"# {gpu}, torch {torch.__version__}{threads}, batch {args.batch} x {args.seconds:g} s")
    print("| model | params | " + " | ".join(m[0] for m in modes) + " |")
    print("|---|---|" + "---|" * len(modes))
    figures = {}
    for name in args.models:
        if name == "tfgan":
            arch = TINY_TFGAN if args.tiny else SMALL_TFGAN if args.small else {}
            # the recipe's batch of 16 x 1 s, except in a --tiny dry run
            size = (args.batch, int(args.seconds * 16000)) if args.tiny else ()
            rate = vocoder_steps_per_second(device, args.steps, arch, *size)
            batch, samples = size or (VOCODER_BATCH, VOCODER_SAMPLES)
            figures[name] = {"fp32": rate}
            write_json(args, gpu, figures)
            # the vocoder trains in fp32 only: its figure goes in the first mode's column
            cells = [f"{rate:.2f} steps/s", *[""] * (len(modes) - 1)]
            row = f"| tfgan (batch {batch} x {samples / 16000:g} s) | | "
            print(row + " | ".join(cells) + " |")
            continue
        kwargs = TINY[name] if args.tiny else SMALL[name] if args.small else {}
        params = count_parameters(build_model(name, **kwargs))
        rates, figures[name] = [], {}
        for mode, bf16, compile_ in modes:
            crop = int(args.seconds * 16000)
            rates.append(
                steps_per_second(name, kwargs, device, args.batch, crop, args.steps, bf16, compile_)
            )
            figures[name][mode] = rates[-1]
            write_json(args, gpu, figures)  # after each mode: a run stopped later keeps it
        cells = [f"{r:.2f} steps/s ({r / rates[0]:.2f}x)" for r in rates]
        print(f"| {name} | {params / 1e6:.1f} M | " + " | ".join(cells) + " |", flush=True)


def write_json(args: argparse.Namespace, device: str, figures: dict) -> None:
    """``--json``: ``{"meta": ..., "steps_per_second": {model: {mode: steps/s}}}``."""
    if args.json:
        meta = {"device": device, "torch": torch.__version__, "batch": args.batch}
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "steps_per_second": figures}, f, indent=1)


if __name__ == "__main__":
    main()
