"""Config validation, wildcard constraints and every `get_*` helper of the workflow.

The rule files hold only rule declarations; everything a rule needs from the config reaches it
through `params:` built here, so a config change reruns exactly the rules it affects.
"""

import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

from tdpr.config import ConfigError, validate_config
from tdpr.report.build import lsd_convention
from tdpr.report.tables import MODEL_LABELS
from tdpr.train.run import resolve_model_config

try:
    validate_config(config)
    # arch keys are checked against each model's constructor, before any job runs
    MODEL_CONFIGS = {
        name: resolve_model_config(config, name) for name in config["models"]
    }
except (ConfigError, ValueError) as err:
    raise WorkflowError(f"invalid configuration: {err}") from None

DATA = config["data"]
SPLITS = ["train", "validation", "test"]
CUTOFFS = [str(c) for c in config["testset"]["cutoffs"]]
MODELS = list(config["models"])
DEMO_ROOT = "resources/demo/maestro-v3.0.0"


# ---- data ---------------------------------------------------------------------------------


def get_dataset():
    """The dataset the clips are cut from: demo tree, unpacked MAESTRO, or the MAESTRO zip."""
    if DATA["source"] == "demo":
        return f"{DEMO_ROOT}/maestro-v3.0.0.csv"
    if DATA["maestro"]["directory"]:
        return str(Path(DATA["maestro"]["directory"]) / "maestro-v3.0.0.csv")
    return DATA["maestro"]["zip"]


def get_clip_settings(wildcards):
    """Keyword arguments of tdpr.data.clips.ClipSettings."""
    return {
        "sample_rate": DATA["sample_rate"],
        "clip_seconds": DATA["clip_seconds"],
        "min_rms_db": DATA["min_rms_db"],
    }


def get_n_shards(wildcards):
    return DATA["shards"][wildcards.split]


def get_shard_dirs(wildcards):
    """The clip directories of every shard of one split."""
    n = DATA["shards"][wildcards.split]
    return [f"results/clips/{wildcards.split}/shard-{k}" for k in range(n)]


def get_demo_params():
    """Parameters of make_demo_data, one `params` entry each so that each one is tracked."""
    demo = DATA["demo"]
    return {
        "soundfont": demo["soundfont"],
        "sample_rate": demo["render_rate"],
        "seed": demo["seed"],
        "pieces": demo["pieces"],
        "max_seconds": demo["max_seconds"],
    }


# ---- training ------------------------------------------------------------------------------


def get_model_arch(wildcards):
    """Constructor arguments of one model (empty: paper size)."""
    return MODEL_CONFIGS[wildcards.model][0]


def get_model_train(wildcards):
    """Training settings of one model: `train` overlaid with `models.<model>.train`."""
    return MODEL_CONFIGS[wildcards.model][1]


# ---- test sets and metrics ----------------------------------------------------------------


def get_testset_params(wildcards):
    """Keyword arguments of tdpr.data.testset.make_testset (besides paths)."""
    ts = config["testset"]
    return {
        "cutoff_hz": float(wildcards.cutoff),
        "seed": ts["seed"],
        "types": list(ts["filters"]),
        "order_range": [ts["order"]["min"], ts["order"]["max"]],
    }


def get_enhance_params():
    """Chunking of the test-set inference (keyword arguments of enhance_testset)."""
    return {k: v for k, v in config["enhance"].items() if k != "oracle_models"}


ORACLE_MODELS = [m for m in config["enhance"]["oracle_models"] if m in MODELS]
#: system key (a path component) -> label in the metrics CSV and tables
SYSTEMS = {"input": "Input"}
for _m in MODELS:
    SYSTEMS[_m] = MODEL_LABELS[_m]
    SYSTEMS[f"{_m}_tdpr"] = f"{MODEL_LABELS[_m]}+TD-PR"
for _m in ORACLE_MODELS:
    SYSTEMS[f"{_m}_gtphase"] = f"{MODEL_LABELS[_m]}+GT-phase"


def system_manifest(system, cutoff):
    """The manifest of one system's outputs at one cutoff (system: a key of SYSTEMS)."""
    if system == "input":
        return f"results/testsets/{cutoff}.csv"
    model, _, variant = system.partition("_")
    stage = {"": "enhanced", "tdpr": "tdpr", "gtphase": "gtphase"}[variant]
    return f"results/{stage}/{model}/{cutoff}.csv"


def get_system_manifest(wildcards):
    return system_manifest(wildcards.system, wildcards.cutoff)


def labelled_manifests(cutoff, systems):
    """{label: manifest} of the given system keys at one cutoff, plus the ground truth."""
    out = {SYSTEMS[s]: system_manifest(s, cutoff) for s in systems}
    return {**out, "Ground truth": "results/clips/test.csv"}


def get_metric_params(wildcards):
    m = config["metrics"]
    return {
        "system": SYSTEMS[wildcards.system],
        "cutoff_hz": float(wildcards.cutoff),
        "n_fft": m["n_fft"],
        "hop": m["hop"],
        "floor": m["floor"],
        "visqol": m["visqol"],
    }


def get_metric_tables(wildcards):
    return expand(
        "results/metrics/{system}/{cutoff}.csv", system=SYSTEMS, cutoff=CUTOFFS
    )


# ---- report -------------------------------------------------------------------------------

REPORT = config["report"]
FIGURE_SYSTEMS = ["input"] + [s for m in MODELS for s in (m, f"{m}_tdpr")]


def get_figure_manifests(wildcards):
    return labelled_manifests(REPORT["figure_cutoff"], FIGURE_SYSTEMS)


def get_histories(wildcards):
    return {MODEL_LABELS[m]: f"results/models/{m}/history.csv" for m in MODELS}


def get_listening_manifests(wildcards):
    systems = FIGURE_SYSTEMS + [f"{REPORT['listening']['ab_model']}_gtphase"]
    return labelled_manifests(REPORT["listening"]["cutoff"], systems)


def get_listening_params(wildcards):
    listening = REPORT["listening"]
    return {
        "models": [MODEL_LABELS[m] for m in MODELS],
        "ab_model": MODEL_LABELS[listening["ab_model"]],
        "n_pieces": listening["pieces"],
        "offset_s": listening["offset_seconds"],
        "duration_s": listening["duration_seconds"],
        "target_lufs": listening["target_lufs"],
        "seed": listening["seed"],
    }


def get_convention(wildcards):
    m = config["metrics"]
    return lsd_convention(m["n_fft"], m["hop"], m["floor"])


def get_final_outputs():
    """What the default target builds: metrics, tables, figures, the listening kit."""
    outputs = [
        "results/metrics/summary.csv",
        "results/tables/table1.md",
        "results/figures/phase_bin.png",
        "results/figures/lsd_vs_cutoff.png",
        "results/listening/excerpts.csv",
    ]
    if REPORT["ratings"]:
        outputs.append("results/figures/ab_preference.png")
    return outputs
