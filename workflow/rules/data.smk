"""Data stage: MAESTRO v3 (downloaded, a local zip, or an unpacked copy) or the embedded demo
data, cut into 16-kHz mono clips per split in a static number of shards."""


rule download_maestro:
    """Download the MAESTRO v3 zip (101 GB), resuming and verifying its SHA-256."""
    output:
        zip=DATA["maestro"]["zip"],
    log:
        "logs/download_maestro.log",
    localrule: True
    conda:
        "../../envs/tdpr.yaml"
    params:
        url=DATA["maestro"]["url"],
        sha256=DATA["maestro"]["sha256"],
    script:
        "../scripts/download_maestro.py"


rule make_demo_data:
    """Render the embedded demo repertoire to a small MAESTRO-shaped dataset."""
    output:
        csv=f"{DEMO_ROOT}/maestro-v3.0.0.csv",
    log:
        "logs/make_demo_data.log",
    conda:
        "../../envs/tdpr.yaml"
    threads: 2
    params:
        **get_demo_params(),
    script:
        "../scripts/make_demo_data.py"


rule render_midi_dataset:
    """Render MAESTRO performance MIDI through sampled pianos, a SoundFont set per split."""
    output:
        csv=f"{MIDI_ROOT}/maestro-v3.0.0.csv",
        renders=f"{MIDI_ROOT}/renders.csv",
    log:
        "logs/render_midi_dataset.log",
    conda:
        "../../envs/tdpr.yaml"
    threads: 2
    params:
        **get_midi_params(),
    script:
        "../scripts/render_midi_dataset.py"


rule clip_recordings:
    """Cut one shard of one split's recordings into 16-kHz mono 16-bit clips."""
    input:
        dataset=ancient(get_dataset()),
    output:
        clips=directory("results/clips/{split}/shard-{shard}"),
    log:
        "logs/clip_recordings/{split}-{shard}.log",
    conda:
        "../../envs/tdpr.yaml"
    resources:
        mem_mb=6000,
    params:
        settings=get_clip_settings,
        n_shards=get_n_shards,
        limit=DATA["max_recordings"],
    script:
        "../scripts/clip_recordings.py"


rule merge_clips:
    """Join the shard manifests of one split into results/clips/{split}.csv."""
    input:
        shards=get_shard_dirs,
    output:
        manifest="results/clips/{split}.csv",
    log:
        "logs/merge_clips/{split}.log",
    conda:
        "../../envs/tdpr.yaml"
    script:
        "../scripts/merge_clips.py"
