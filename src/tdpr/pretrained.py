"""The weights that ship inside the package: the showcase's trained TD-CNNs and vocoder.

``tdpr/weights/`` holds one final model file per model (:mod:`tdpr.train.checkpoint`), a
``MODEL_CARD.md`` and ``manifest.json``::

    {"format": 1,
     "config": "config/showcase.yaml",
     "models": {"seanet": {"file": "seanet.pt", "kind": "tdcnn", "sha256": "...",
                           "parameters": 530000, "steps": 1200, "train_seconds": 1500.0,
                           "lsd": {"2500": 1.21, ...}}, ...,
                "tfgan": {"file": "tfgan.pt", "kind": "vocoder", ...}},
     "default": {"system": "seanet_vocoder_hf_kb", "model": "seanet", "vocoder": "tfgan",
                 "phase": "vocoder", "band": "hf", "keep_band": true,
                 "lsd": 1.19, "why": "..."}}

The default is what ``tdpr enhance IN OUT`` runs with no ``--model``: the system of the
showcase's own test tables with the lowest mean LSD over its cutoffs, among those ``tdpr
enhance`` can reproduce (a TD-CNN, its TD-PR in either band, with or without the given band
kept). :func:`export_weights` writes the folder from a showcase run (rule ``export_weights``);
:func:`shipped_default` and :func:`shipped_file` read it, checking each file's SHA-256.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from tdpr.data.download import sha256_file
from tdpr.fsio import atomic_folder
from tdpr.registry import PLAIN, VARIANTS, system_key, system_label

FORMAT = 1
MANIFEST = "manifest.json"
CARD = "MODEL_CARD.md"
#: Variants ``tdpr enhance`` reproduces: its own output, TD-PR in either band, each with the
#: given band kept or not.
ENHANCE_VARIANTS = ("plain", "tdpr", "vocoder_hf", "kb", "tdpr_kb", "vocoder_hf_kb")


class WeightsError(RuntimeError):
    """The shipped weights are missing, altered, or their manifest is not readable."""


@dataclass(frozen=True)
class Default:
    """What ``tdpr enhance`` runs with no ``--model``: ``model`` (+ ``vocoder`` when ``phase``)."""

    system: str
    model: str
    vocoder: str | None
    phase: str | None
    band: str
    keep_band: bool
    lsd: float

    @property
    def label(self) -> str:
        return system_label(self.system)


def weights_dir() -> Path:
    """The folder of the shipped weights inside the installed package."""
    return Path(str(resources.files("tdpr") / "weights"))


def read_manifest(folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The manifest of a weights folder (default: the shipped one)."""
    path = Path(folder or weights_dir()) / MANIFEST
    if not path.is_file():
        raise WeightsError(f"no shipped weights: {path} is missing")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise WeightsError(f"cannot read {path}: {err}") from err
    if manifest.get("format") != FORMAT:
        raise WeightsError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT}")
    return manifest


def shipped_file(name: str, folder: str | os.PathLike | None = None) -> Path:
    """The model file of shipped model ``name``, after checking its SHA-256."""
    folder = Path(folder or weights_dir())
    entries = read_manifest(folder)["models"]
    if name not in entries:
        raise WeightsError(f"no shipped model {name!r}; shipped: {', '.join(entries)}")
    path = folder / entries[name]["file"]
    if not path.is_file():
        raise WeightsError(f"shipped model {name!r}: {path} is missing")
    if sha256_file(path) != entries[name]["sha256"]:
        raise WeightsError(f"shipped model {name!r}: {path} does not match its SHA-256")
    return path


def shipped_default(folder: str | os.PathLike | None = None) -> Default:
    """The system ``tdpr enhance`` runs with no ``--model``."""
    entry = read_manifest(folder)["default"]
    keys = ("system", "model", "vocoder", "phase", "band", "keep_band", "lsd")
    return Default(**{key: entry[key] for key in keys})


def choose_default(summary: pd.DataFrame, models: Sequence[str], vocoder: str) -> Default:
    """The reproducible system with the lowest mean LSD over the cutoffs of ``summary``.

    Args:
        summary: the workflow's ``results/metrics/summary.csv`` (``model, variant, cutoff,
            metric, mean``).
        models: the TD-CNNs that ship.
        vocoder: the vocoder that ships (TD-PR's phase).
    """
    lsd = summary[(summary["metric"] == "lsd") & summary["model"].isin(models)]
    lsd = lsd[lsd["variant"].isin(ENHANCE_VARIANTS)]
    if lsd.empty:
        raise ValueError(f"no LSD of {', '.join(models)} in the summary")
    means = lsd.groupby(["model", "variant"])["mean"].mean().sort_values(kind="stable")
    (model, variant), value = means.index[0], float(means.iloc[0])
    v = VARIANTS[variant]
    base = VARIANTS[v.base] if v.keep_band else v
    system = system_key(model, variant)
    return Default(
        system=system,
        model=model,
        vocoder=vocoder if base.phase else None,
        phase=base.phase,
        band=base.band or "full",
        keep_band=v.keep_band,
        lsd=round(value, 4),
    )


def export_weights(
    model_files: Mapping[str, str | os.PathLike],
    histories: Mapping[str, str | os.PathLike],
    summary_csv: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    config_name: str,
    table1_md: str | os.PathLike,
    renders_csv: str | os.PathLike,
    phase_study_md: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Write a weights folder: the model files, ``manifest.json`` and the model card.

    Args:
        model_files: ``{name: final model file}``; the vocoder is the one named ``tfgan``.
        histories: ``{name: history.csv}`` of each (steps and training seconds).
        summary_csv: the run's metric summary (the default and each TD-CNN's LSD per cutoff).
        out_dir: the folder to write (replaced as a whole, atomically).
        config_name: the config that made them (recorded).
        table1_md, phase_study_md: the run's Table 1 and phase study (for the model card).
        renders_csv: the provenance of the rendered data (``renders.csv``).
    """
    from tdpr.models import count_parameters
    from tdpr.train.checkpoint import load_model

    summary = pd.read_csv(summary_csv)
    tdcnns = [name for name in model_files if name != "tfgan"]
    default = choose_default(summary, tdcnns, "tfgan")
    entries = {}
    for name, path in model_files.items():
        history = pd.read_csv(histories[name])
        step_column = "step" if "step" in history else "epoch"
        mine = (summary["model"] == name) & (summary["variant"] == PLAIN)
        lsd = summary[mine & (summary["metric"] == "lsd")]
        entries[name] = {
            "file": f"{name}.pt",
            "kind": "vocoder" if name == "tfgan" else "tdcnn",
            "sha256": sha256_file(path),
            "parameters": count_parameters(load_model(path)),
            "steps": int(history[step_column].max()),
            "train_seconds": round(float(history["seconds"].sum()), 1),
            "lsd": {str(int(r.cutoff)): round(float(r.mean), 4) for r in lsd.itertuples()},
        }
    manifest = {
        "format": FORMAT,
        "config": config_name,
        "models": entries,
        "default": {
            **default.__dict__,
            "why": "the lowest mean LSD over the showcase's cutoffs among the systems "
            "`tdpr enhance` reproduces",
        },
    }
    card = model_card(
        manifest,
        Path(table1_md).read_text(),
        Path(phase_study_md).read_text() if phase_study_md else None,
        renders_csv,
    )
    with atomic_folder(out_dir) as tmp:
        for name, path in model_files.items():
            shutil.copyfile(path, tmp / entries[name]["file"])
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        (tmp / CARD).write_text(card)
    return manifest


def mean_lsd(entry: Mapping[str, Any]) -> str:
    """A manifest entry's mean test LSD over its cutoffs, formatted (``-`` for the vocoder)."""
    lsd = entry.get("lsd") or {}
    return f"{sum(lsd.values()) / len(lsd):.3f}" if lsd else "-"


#: The model card's section that :func:`models_table` fills (rewritten by :func:`keep_reproduced`).
MODELS_HEADING = "## Models"


def models_table(manifest: Mapping[str, Any]) -> str:
    """The model card's table of the models: kind, size, steps, training minutes, test LSD."""
    rows = [
        "| model | kind | parameters | steps | training minutes (2 CPU cores) | mean test LSD |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in manifest["models"].items():
        rows.append(
            f"| {name} | {entry['kind']} | {entry['parameters']:,} | {entry['steps']} | "
            f"{entry['train_seconds'] / 60:.1f} | {mean_lsd(entry)} |"
        )
    return "\n".join(rows)


def model_card(
    manifest: Mapping[str, Any],
    table1_md: str,
    phase_study_md: str | None,
    renders_csv: str | os.PathLike,
) -> str:
    """The model card (Markdown) of a weights folder: data, renders, training, test figures
    against the baselines, licence."""
    renders = pd.read_csv(renders_csv, comment="#")
    with open(renders_csv) as f:
        provenance = f.readline().lstrip("# ").strip()
    pianos = (
        renders.groupby(["split", "soundfont", "program"]).size().rename("performances")
    ).reset_index()
    piano_rows = [
        f"| {r.split} | {r.soundfont} | {r.program} | {r.performances} |"
        for r in pianos.itertuples()
    ]
    default = manifest["default"]
    seconds = renders.groupby("split")["seconds"].sum() / 60
    lines = [
        "# Model card: the weights that ship with tdpr",
        "",
        f"Made by `snakemake --cores all --configfile {manifest['config']}` (then "
        "`python tools/ship_weights.py`); every figure below comes from that run's own "
        "results and is rewritten with the weights.",
        "",
        "## Use",
        "",
        f"`tdpr enhance IN OUT` with no `--model` runs **{system_label(default['system'])}**: "
        f"the {default['model']} TD-CNN"
        + (
            f", TD-PR by the {default['vocoder']} vocoder in the {default['band']} band"
            if default["phase"]
            else ""
        )
        + (
            ", with the given band kept (the input below its cutoff)"
            if default["keep_band"]
            else ""
        )
        + f"; {default['why']} (mean LSD {default['lsd']:.3f}). Every option of `tdpr enhance` "
        "still overrides that choice. For narrow-band piano (a bandwidth of 2.5-4 kHz) at 16 "
        "kHz; other instruments, other bandwidths and real recording chains were not tested.",
        "",
        "## Data",
        "",
        "Renders of real MAESTRO performance MIDI (the MAESTRO v2.0.0 subset that ships with "
        "tdpr, its official splits; Hawthorne et al., ICLR 2019) through sampled General MIDI "
        f"pianos with FluidSynth ({provenance}). The test piano is one that no training clip "
        "used, so the test measures a piano the models never heard.",
        "",
        "| split | SoundFont | program | performances |",
        "|---|---|---|---|",
        *piano_rows,
        "",
        "Minutes rendered: "
        + ", ".join(f"{split} {minutes:.0f}" for split, minutes in seconds.items())
        + ". Training inputs are degraded on the fly (a low-pass drawn from seven filter types "
        "at 2.5-4 kHz, order 6-10, 16-bit), as in the paper.",
        "",
        MODELS_HEADING,
        "",
        models_table(manifest),
        "",
        "## Test figures against the systems that learn nothing",
        "",
        table1_md.strip(),
        "",
    ]
    if phase_study_md:
        lines += ["## The vocoder's phase against a random phase", "", phase_study_md.strip(), ""]
    lines += [
        "## Licence",
        "",
        "The MIDI the models learned from is MAESTRO's, under CC BY-NC-SA 4.0 (Hawthorne et "
        "al., 2019); these weights are released under the same licence: attribution, "
        "non-commercial use, share alike. The code of tdpr keeps its own licence (LICENSE).",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class WeightsComparison:
    """How one model of a weights folder compares with the same model of another.

    Attributes:
        name: the model's name in both manifests.
        same_file: the two files are byte-identical (same SHA-256).
        tensors: how many tensors the model's state holds.
        differing: how many of them differ (0: the same weights, whatever the file's metadata).
        max_abs_diff: the largest absolute difference over every tensor.
        lsd: ``{cutoff: (this folder's test LSD, the other's)}`` from the manifests.
    """

    name: str
    same_file: bool
    tensors: int
    differing: int
    max_abs_diff: float
    lsd: dict[str, tuple[float, float]]

    @property
    def same_weights(self) -> bool:
        return self.differing == 0


def compare_weights(
    folder: str | os.PathLike, reference: str | os.PathLike | None = None
) -> list[WeightsComparison]:
    """Compare every model of the weights folder ``folder`` (a run's ``results/weights``)
    with the same model in ``reference`` (default: the shipped weights), tensor by tensor.

    A second run on the same machine and thread count should give the same tensors (training
    is seeded and deterministic on a CPU); the files themselves may still differ in the
    versions they record.

    Raises:
        WeightsError: a folder or model file is missing or fails its SHA-256, the two name
            other models, or a model's state holds other tensors in the other folder.
    """
    import torch

    from tdpr.train.checkpoint import MODEL_KIND, load_checkpoint

    ours, theirs = read_manifest(folder)["models"], read_manifest(reference)["models"]
    if sorted(ours) != sorted(theirs):
        raise WeightsError(
            f"{folder} holds {', '.join(sorted(ours))}; the reference holds "
            f"{', '.join(sorted(theirs))}"
        )
    out = []
    for name in ours:
        paths = shipped_file(name, folder), shipped_file(name, reference)
        states = [load_checkpoint(p, MODEL_KIND)["state"] for p in paths]
        shapes = [{k: tuple(t.shape) for k, t in state.items()} for state in states]
        if shapes[0] != shapes[1]:
            raise WeightsError(f"model {name!r}: the two files hold other tensors (names, shapes)")
        pairs = ((states[0][k], states[1][k]) for k in states[0])
        diffs = [float((a.double() - b.double()).abs().max()) if a.numel() else 0.0
                 for a, b in pairs if not torch.equal(a, b)]  # fmt: skip
        lsd = {c: (v, theirs[name].get("lsd", {}).get(c, float("nan")))
               for c, v in ours[name].get("lsd", {}).items()}  # fmt: skip
        out.append(WeightsComparison(
            name, ours[name]["sha256"] == theirs[name]["sha256"], len(states[0]), len(diffs),
            max(diffs, default=0.0), lsd,
        ))  # fmt: skip
    return out


def keep_reproduced(folder: str | os.PathLike, reference: str | os.PathLike) -> list[str]:
    """Put back, in the weights folder ``folder``, each model that holds the same tensors as
    in ``reference`` (:func:`compare_weights`): ``reference``'s file and its manifest entry.

    A rerun that reproduces a model bit for bit then changes neither its file (whose bytes
    differ only in the versions it records) nor its record: the training minutes stay those
    of the run that first made those tensors, not of a rerun that may have shared its machine
    or been paused. The manifest and the model card's models table are rewritten; the test
    figures are the run's own (the same models give the same figures).

    Returns:
        The names of the models put back, in manifest order.

    Raises:
        WeightsError: as :func:`compare_weights`.
    """
    folder, reference = Path(folder), Path(reference)
    kept = [row.name for row in compare_weights(folder, reference) if row.same_weights]
    if not kept:
        return []
    manifest, theirs = read_manifest(folder), read_manifest(reference)["models"]
    for name in kept:
        entry = theirs[name]
        shutil.copyfile(reference / entry["file"], folder / manifest["models"][name]["file"])
        manifest["models"][name] = {**entry, "lsd": manifest["models"][name]["lsd"]}
    card = (folder / CARD).read_text()
    start = card.index(MODELS_HEADING + "\n")
    end = card.find("\n## ", start + len(MODELS_HEADING))
    end = len(card) if end < 0 else end
    card = card[:start] + f"{MODELS_HEADING}\n\n{models_table(manifest)}\n" + card[end:]
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    (folder / CARD).write_text(card)
    return kept
