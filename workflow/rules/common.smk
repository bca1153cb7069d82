"""Config validation, wildcard constraints and every `get_*` helper of the workflow.

The rule files hold only rule declarations; everything a rule needs from the config reaches it
through `params:` built here, so a config change reruns exactly the rules it affects.
"""

import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

from tdpr.config import ConfigError, validate_config
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


#: system key (a path component) -> label in the metrics CSV and tables
SYSTEMS = {"input": "Input"}


def get_system_manifest(wildcards):
    """The manifest of one system's outputs at one cutoff."""
    if wildcards.system == "input":
        return f"results/testsets/{wildcards.cutoff}.csv"
    raise ValueError(f"unknown system {wildcards.system!r}")


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


def get_final_outputs():
    return (
        expand("results/clips/{split}.csv", split=SPLITS)
        + expand("results/models/{model}/model.pt", model=MODELS)
        + [
            "results/metrics/metrics.csv",
            "results/metrics/summary.csv",
        ]
    )
