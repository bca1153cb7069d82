"""The showcase's targets (issue: learning on a CPU), read off a finished run's results.

    python bench/check_showcase.py [--results results]

Prints, per cutoff and TD-CNN: its LSD against the best baseline's, its LSD-LF and SI-SDR
against the input's, TD-PR (HF)'s LSD against the model's, and the same for the keep-band
twins; then the vocoder's copy-synthesis APD-IAF and IFD-W1-HF against a random phase (the
phase study), and each model's training time and steps from its history. Each line says met or
missed, with the margin. Targets: LSD below both baselines'; LSD-LF within 0.05 and SI-SDR
within 1 dB of the input's; TD-PR (HF) within 0.05 LSD of its model; the vocoder's two phase
distances at least 20 % below random's; at most 30 minutes of training per model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from tdpr.registry import system_label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--models", nargs="+", default=["seanet", "audiounet", "demucs"])
    parser.add_argument("--baselines", nargs="+", default=["noisefill", "replicate"])
    args = parser.parse_args()
    summary = pd.read_csv(args.results / "metrics" / "summary.csv")
    mean = summary.set_index(["model", "variant", "metric", "cutoff"])["mean"]

    def get(model: str, variant: str, metric: str, cutoff: float) -> float:
        return float(mean[(model, variant, metric, cutoff)])

    missed = 0

    def verdict(ok: bool) -> str:
        nonlocal missed
        missed += not ok
        return "met" if ok else "MISSED"

    cutoffs = sorted(summary["cutoff"].unique())
    print("| cutoff | system | LSD | best baseline | LSD-LF − input's | SI-SDR − input's (dB) "
          "| TD-PR (HF) − model | verdict |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for cutoff in cutoffs:
        best = min(get(b, "plain", "lsd", cutoff) for b in args.baselines)
        lf_in, sdr_in = (
            get("input", "plain", "lsd_lf", cutoff),
            get("input", "plain", "si_sdr", cutoff),
        )
        for model in args.models:
            for variant, base in (("plain", "vocoder_hf"), ("kb", "vocoder_hf_kb")):
                if (model, variant, "lsd", cutoff) not in mean.index:
                    continue
                lsd = get(model, variant, "lsd", cutoff)
                lf = get(model, variant, "lsd_lf", cutoff) - lf_in
                sdr = get(model, variant, "si_sdr", cutoff) - sdr_in
                tdpr = (
                    get(model, base, "lsd", cutoff) - lsd
                    if (model, base, "lsd", cutoff) in mean.index
                    else float("nan")
                )
                ok = lsd < best and abs(lf) <= 0.05 and sdr >= -1.0 and abs(tdpr) <= 0.05
                key = model if variant == "plain" else f"{model}_{variant}"
                print(f"| {cutoff:.0f} | {system_label(key)} | {lsd:.3f} | {best:.3f} | {lf:+.3f} "
                      f"| {sdr:+.2f} | {tdpr:+.3f} | {verdict(ok)} |")  # fmt: skip
    study = pd.concat(pd.read_csv(p) for p in sorted((args.results / "phase_study").glob("*.csv")))
    means = study.groupby(["variant", "metric"])["value"].mean()
    print(
        "\n| phase (the ground truth's magnitude) | APD-IAF | IFD-W1-HF | below random | verdict |"
    )
    print("|---|---|---|---|---|")
    for variant, floor in (("tdpr", "random_full"), ("vocoder_hf", "random_hf")):
        if (variant, "apd_iaf") not in means.index:
            continue
        iaf, ifd = means[(variant, "apd_iaf")], means[(variant, "ifd_w1_hf")]
        r_iaf, r_ifd = means[(floor, "apd_iaf")], means[(floor, "ifd_w1_hf")]
        gains = (1 - iaf / r_iaf, 1 - ifd / r_ifd)
        print(f"| {system_label('reference_' + variant)} vs random | {iaf:.3f} ({r_iaf:.3f}) "
              f"| {ifd:.3f} ({r_ifd:.3f}) | {gains[0]:.0%}, {gains[1]:.0%} "
              f"| {verdict(min(gains) >= 0.20)} |")  # fmt: skip
    print("\n| model | steps | training minutes | verdict (≤ 30) |")
    print("|---|---|---|---|")
    for name in [*args.models, "tfgan"]:
        folder = args.results / ("vocoder" if name == "tfgan" else f"models/{name}")
        history = pd.read_csv(folder / "history.csv")
        minutes = history["seconds"].sum() / 60
        print(
            f"| {name} | {int(history['step'].max())} | {minutes:.1f} | {verdict(minutes <= 30)} |"
        )
    print(f"\n{missed} target(s) missed")


if __name__ == "__main__":
    main()
