"""Config validation, wildcard constraints and every `get_*` helper of the workflow.

The rule files hold only rule declarations; everything a rule needs from the config reaches it
through `params:` built here, so a config change reruns exactly the rules it affects.
"""

import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

# Only light modules here (no torch, no plotting): every parse, one per SLURM job, stays fast.
from tdpr.config import ConfigError, validate_config
from tdpr.registry import (
    INPUT,
    PHASE_SOURCES,
    PLAIN,
    REFERENCE,
    VARIANTS,
    convention_names,
    keep_band_key,
    phase_variants,
    system_key,
)
from tdpr.train.config import resolve_model_config

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
#: the no-learning baselines (tdpr.baselines), which go through the same rules from inference on
BASELINES = list(config["baselines"]["names"])
DEMO_ROOT = "resources/demo/maestro-v3.0.0"
MIDI_ROOT = "resources/midi/maestro-v3.0.0"


# ---- data ---------------------------------------------------------------------------------


def get_dataset():
    """The dataset the clips are cut from: demo tree, MIDI renders, unpacked MAESTRO, or the
    MAESTRO zip."""
    if DATA["source"] == "demo":
        return f"{DEMO_ROOT}/maestro-v3.0.0.csv"
    if DATA["source"] == "midi":
        return f"{MIDI_ROOT}/maestro-v3.0.0.csv"
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


def get_midi_params():
    """Parameters of render_midi_dataset, one `params` entry each so that each one is tracked."""
    midi = DATA["midi"]
    return {
        "source": midi["source"],
        "soundfonts": midi["soundfonts"],
        "performances": midi["performances"],
        "max_seconds": midi["max_seconds"],
        "sample_rate": midi["render_rate"],
        "seed": midi["seed"],
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


def get_enhance_inputs(wildcards):
    """The degraded test set, and the model file of a TD-CNN or the mean spectrum of a
    baseline."""
    inputs = {"testset": f"results/testsets/{wildcards.cutoff}.csv"}
    if wildcards.model in BASELINES:
        inputs["spectrum"] = "results/baselines/mean_spectrum.json"
    else:
        inputs["model"] = f"results/models/{wildcards.model}/model.pt"
    return inputs


def get_enhance_params(wildcards):
    """Keyword arguments of enhance_testset: the chunking; a baseline's cutoff and seed."""
    params = dict(config["enhance"])
    if wildcards.model in BASELINES:
        params["cutoff_hz"] = float(wildcards.cutoff)
        params["seed"] = config["baselines"]["seed"]
    return params


PHASE = config["phase_repair"]
ORACLE_MODELS = [m for m in PHASE["oracle_models"] if m in MODELS]
#: phase variants of every model, and those of the oracle models only
MODEL_VARIANTS = phase_variants(PHASE["sources"], PHASE["bands"])
#: the phase-source study's sources (phase_repair.study_sources, else the models' sources)
STUDY_SOURCES = PHASE["study_sources"] or PHASE["sources"]
ORACLE_VARIANTS = phase_variants(["gt"], PHASE["bands"])
#: system keys (path components; tdpr.registry): the input, each model and its variants
#: the models whose outputs get every phase variant
PHASED = (BASELINES if config["baselines"]["phase_repair"] else []) + MODELS
SYSTEMS = [INPUT]
for _m in BASELINES + MODELS:
    SYSTEMS += [_m, *(system_key(_m, v) for v in MODEL_VARIANTS if _m in PHASED)]
SYSTEMS += [system_key(_m, v) for _m in ORACLE_MODELS for v in ORACLE_VARIANTS]
#: the variants whose outputs also get the given band put back (rule keep_given_band)
KEPT = config["keep_band"]["variants"]
_unknown_kept = [v for v in KEPT if v not in [PLAIN, *MODEL_VARIANTS]]
if _unknown_kept:
    raise WorkflowError(
        f"invalid configuration: keep_band.variants {_unknown_kept} are not plain or a "
        f"configured phase variant ({', '.join([PLAIN, *MODEL_VARIANTS])})"
    )
SYSTEMS += [system_key(_m, keep_band_key(v)) for _m in MODELS for v in KEPT]
#: each model's rows in Table 1 (report.table1_variants): systems the run makes
TABLE1_VARIANTS = config["report"]["table1_variants"]
_unmade = [
    v for v in TABLE1_VARIANTS if MODELS and system_key(MODELS[0], v) not in SYSTEMS
]
if _unmade:
    raise WorkflowError(
        f"invalid configuration: report.table1_variants {_unmade} are not made by this "
        "configuration (a phase variant needs phase_repair.sources and bands; a band-kept one, "
        "its base in keep_band.variants)"
    )
#: (variant, model) pairs that the repair_phase rule makes
PHASE_JOBS = [(v, m) for m in PHASED for v in MODEL_VARIANTS]
PHASE_JOBS += [(v, m) for m in ORACLE_MODELS for v in ORACLE_VARIANTS]


def get_phase_inputs(wildcards):
    """The TD-CNN outputs, plus the vocoder or the clean clips where the source needs them."""
    source = PHASE_SOURCES[VARIANTS[wildcards.variant].phase]
    inputs = {"enhanced": f"results/enhanced/{wildcards.model}/{wildcards.cutoff}.csv"}
    if "vocoder" in source.needs:
        inputs["vocoder"] = "results/vocoder/tfgan.pt"
    if "reference" in source.needs:
        inputs["reference"] = "results/clips/test.csv"
    return inputs


def get_phase_params(wildcards):
    """Keyword arguments of tdpr.inference.repair_testset (besides paths)."""
    variant = VARIANTS[wildcards.variant]
    return {
        "source": variant.phase,
        "band": variant.band,
        "cutoff_hz": float(wildcards.cutoff),
        "settings": PHASE.get(variant.phase, {}),
        "seed": PHASE["seed"],
    }


def get_keep_band_inputs(wildcards):
    """The degraded test set (the band to keep) and the outputs of the base system."""
    base = system_key(wildcards.model, wildcards.base)
    return {
        "given": f"results/testsets/{wildcards.cutoff}.csv",
        "enhanced": system_manifest(base, wildcards.cutoff),
    }


def get_cutoff_hz(wildcards):
    return float(wildcards.cutoff)


def system_manifest(system, cutoff):
    """The manifest of one system's outputs at one cutoff (system: a key of SYSTEMS)."""
    if system == INPUT:
        return f"results/testsets/{cutoff}.csv"
    if system == REFERENCE:
        return "results/clips/test.csv"
    model, _, variant = system.partition("_")
    return f"results/{VARIANTS[variant or PLAIN].stage}/{model}/{cutoff}.csv"


def get_system_manifest(wildcards):
    return system_manifest(wildcards.system, wildcards.cutoff)


def system_manifests(cutoff, systems):
    """{system key: manifest} of the given systems at one cutoff, plus the ground truth."""
    return {s: system_manifest(s, cutoff) for s in [*systems, REFERENCE]}


#: the LSD conventions computed per clip (tdpr.registry.CONVENTIONS), in registry order
CONVENTIONS = convention_names(config["metrics"]["conventions"])


def get_metric_params(wildcards):
    m = config["metrics"]
    return {
        "system": wildcards.system,
        "cutoff_hz": float(wildcards.cutoff),
        "n_fft": m["n_fft"],
        "hop": m["hop"],
        "floor": m["floor"],
        "visqol": m["visqol"],
        "conventions": CONVENTIONS,
    }


def get_metric_tables(wildcards):
    return expand(
        "results/metrics/{system}/{cutoff}.csv", system=SYSTEMS, cutoff=CUTOFFS
    )


# ---- report -------------------------------------------------------------------------------

REPORT = config["report"]
FIGURE_SYSTEMS = [INPUT, *BASELINES] + [
    s for m in MODELS for s in (m, system_key(m, "tdpr"))
]


def get_figure_manifests(wildcards):
    return system_manifests(REPORT["figure_cutoff"], FIGURE_SYSTEMS)


def get_histories(wildcards):
    return {m: f"results/models/{m}/history.csv" for m in MODELS}


#: training settings that fix a model's validation items (tdpr.train.data.ValidDataset)
VALID_KEYS = ("seed", "valid_items", "crop_seconds", "cutoff_range", "filters", "order")


def get_level_params(wildcards):
    """Keyword arguments of tdpr.baselines.levels.validation_levels, or {} where there is no
    baseline or the models validate on different items (no shared level to draw)."""
    drawn = {tuple(str(MODEL_CONFIGS[m][1][k]) for k in VALID_KEYS) for m in MODELS}
    if not BASELINES or len(drawn) != 1:
        return {}
    return {
        "train_cfg": MODEL_CONFIGS[MODELS[0]][1],
        "baselines": BASELINES,
        "seed": config["baselines"]["seed"],
    }


def get_listening_manifests(wildcards):
    systems = FIGURE_SYSTEMS + [system_key(REPORT["listening"]["ab_model"], "gtphase")]
    return system_manifests(REPORT["listening"]["cutoff"], systems)


def get_listening_params(wildcards):
    listening = REPORT["listening"]
    return {
        "models": MODELS,
        "baselines": BASELINES,
        "ab_model": listening["ab_model"],
        "n_pieces": listening["pieces"],
        "offset_s": listening["offset_seconds"],
        "duration_s": listening["duration_seconds"],
        "target_lufs": listening["target_lufs"],
        "seed": listening["seed"],
    }


def get_convention(wildcards):
    """Settings stated under every table (tdpr.report.tables.lsd_convention)."""
    return {k: config["metrics"][k] for k in ("n_fft", "hop", "floor")}


def get_conventions_params(wildcards):
    """Keyword arguments of tdpr.report.conventions.build_conventions_table (besides paths)."""
    return {
        "names": CONVENTIONS,
        "cutoffs": [int(c) for c in CUTOFFS],
        "sample_rate": DATA["sample_rate"],
        "models": MODELS,
    }


def get_final_outputs():
    """What the default target builds: metrics, tables, figures, the listening kit."""
    outputs = [
        "results/metrics/summary.csv",
        "results/tables/table1.md",
        "results/tables/table1_conventions.md",
        "results/figures/phase_bin.png",
        "results/figures/lsd_vs_cutoff.png",
        "results/listening/excerpts.csv",
    ]
    if REPORT["ratings"]:
        outputs.append("results/figures/ab_preference.png")
    if config["weights"]["export"]:
        outputs.append("results/weights")
    return outputs + get_phase_study_outputs()


def get_study_inputs(wildcards):
    inputs = {"reference": "results/clips/test.csv"}
    if any("vocoder" in PHASE_SOURCES[s].needs for s in STUDY_SOURCES):
        inputs["vocoder"] = "results/vocoder/tfgan.pt"
    return inputs


def get_study_params(wildcards):
    """Keyword arguments of tdpr.phase.study.phase_study (besides paths)."""
    return {
        "cutoffs": [float(c) for c in CUTOFFS],
        "sources": STUDY_SOURCES,
        "bands": PHASE["bands"],
        "settings": {s: PHASE[s] for s in ("griffinlim", "pghi")},
        "seed": PHASE["seed"],
    }


def get_phase_study_outputs():
    """The phase-source study's table, when phase_repair.study is on."""
    return ["results/tables/phase_study.md"] if PHASE["study"] else []


# ---- weights ------------------------------------------------------------------------------


def get_weights_inputs(wildcards):
    """The trained models and their histories (TD-CNNs, then the vocoder), the run's summary,
    Table 1, the phase study and the renders' provenance (MIDI data only)."""
    if DATA["source"] != "midi":
        raise WorkflowError(
            "weights.export needs data.source: midi (the model card records the renders)"
        )
    inputs = {
        "models": [f"results/models/{m}/model.pt" for m in MODELS]
        + ["results/vocoder/tfgan.pt"],
        "histories": [f"results/models/{m}/history.csv" for m in MODELS]
        + ["results/vocoder/history.csv"],
        "summary": "results/metrics/summary.csv",
        "table1": "results/tables/table1.md",
        "renders": f"{MIDI_ROOT}/renders.csv",
    }
    inputs.update(zip(["phase_study"], get_phase_study_outputs()))
    return inputs


def get_config_name(wildcards):
    """The config file the run was given (recorded in the weights' manifest)."""
    default = Path("config/config.yaml").resolve()
    # the Snakefile's own configfile is among them; one given with --configfile is the run's
    given = [
        Path(f).resolve() for f in workflow.configfiles if Path(f).resolve() != default
    ]
    if not given:
        return "config/config.yaml"
    here = Path.cwd().resolve()
    return str(
        given[0].relative_to(here) if given[0].is_relative_to(here) else given[0]
    )
