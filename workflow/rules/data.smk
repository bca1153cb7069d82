"""Data stage: MAESTRO v3 (downloaded, a local zip, or an unpacked copy) or the embedded demo
data, cut into 16-kHz mono clips per split in a static number of shards."""


rule download_maestro:
    """Download the MAESTRO v3 zip (101 GB), resuming and verifying its SHA-256."""
    output:
        zip=DATA["maestro"]["zip"],
    params:
        url=DATA["maestro"]["url"],
        sha256=DATA["maestro"]["sha256"],
    log:
        "logs/download_maestro.log",
    localrule: True
    script:
        "../scripts/download_maestro.py"


rule make_demo_data:
    """Render the embedded demo repertoire to a small MAESTRO-shaped dataset."""
    output:
        csv=f"{DEMO_ROOT}/maestro-v3.0.0.csv",
    params:
        **get_demo_params(),
    threads: 2
    log:
        "logs/make_demo_data.log",
    script:
        "../scripts/make_demo_data.py"


rule clip_recordings:
    """Cut one shard of one split's recordings into 16-kHz mono 16-bit clips."""
    input:
        dataset=ancient(get_dataset()),
    output:
        clips=directory("results/clips/{split}/shard-{shard}"),
    params:
        settings=get_clip_settings,
        n_shards=get_n_shards,
        limit=DATA["max_recordings"],
    resources:
        mem_mb=6000,
    log:
        "logs/clip_recordings/{split}-{shard}.log",
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
    script:
        "../scripts/merge_clips.py"
