"""Report stage: Table 1 and the extended table, the figures, and the listening-test kit.

These rules are cheap and read only small tidy files; each lists the module that draws its
product as an input, so editing a table or a figure reruns that rule and nothing upstream.
"""


rule count_parameters:
    """Parameter counts of the configured TD-CNNs and the vocoder (built on the meta device)."""
    output:
        json="results/tables/params.json",
    log:
        "logs/count_parameters.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        models={m: MODEL_CONFIGS[m][0] for m in MODELS},
        vocoder=config["vocoder"]["arch"],
    script:
        "../scripts/count_parameters.py"


rule make_table:
    """Table 1 (LSD per cutoff, AVG, parameters) and the extended metrics table."""
    input:
        metrics="results/metrics/metrics.csv",
        params="results/tables/params.json",
        code=workflow.source_path("../../src/tdpr/report/tables.py"),
    output:
        table1=report(
            "results/tables/table1.md",
            caption="../report/table1.rst",
            category="Tables",
        ),
        extended=report(
            "results/tables/table_extended.md",
            caption="../report/table_extended.rst",
            category="Tables",
        ),
        csv="results/tables/table1.csv",
        tex="results/tables/table1.tex",
    log:
        "logs/make_table.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        models=MODELS,
        baselines=BASELINES,
        cutoffs=[int(c) for c in CUTOFFS],
        convention=get_convention,
        table1_variants=TABLE1_VARIANTS,
    script:
        "../scripts/make_table.py"


rule make_conventions_table:
    """Table 1 under each LSD convention of the field: every system's mean LSD as each paper
    computes it, the conventions' parameters in the caption."""
    input:
        metrics="results/metrics/metrics.csv",
        code=workflow.source_path("../../src/tdpr/report/conventions.py"),
    output:
        md=report(
            "results/tables/table1_conventions.md",
            caption="../report/table1_conventions.rst",
            category="Tables",
        ),
        csv="results/tables/table1_conventions.csv",
    log:
        "logs/make_conventions_table.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        table=get_conventions_params,
    script:
        "../scripts/make_conventions_table.py"


rule study_phase_sources:
    """The phase-source study at every cutoff: the ground truth's magnitude with each source's
    phase (and a random one), in each band, scored against the ground truth. One job: its
    full-band reconstructions do not depend on the cutoff, so each is built once."""
    input:
        unpack(get_study_inputs),
    output:
        tables=expand("results/phase_study/{cutoff}.csv", cutoff=CUTOFFS),
    log:
        "logs/study_phase_sources.log",
    conda:
        "../../envs/tdpr.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        study=get_study_params,
    script:
        "../scripts/study_phase_sources.py"


rule make_phase_study_table:
    """The phase-source study's table over every cutoff (CSV, Markdown, LaTeX)."""
    input:
        studies=expand("results/phase_study/{cutoff}.csv", cutoff=CUTOFFS),
        code=workflow.source_path("../../src/tdpr/report/tables.py"),
    output:
        md=report(
            "results/tables/phase_study.md",
            caption="../report/table_phase_study.rst",
            category="Tables",
        ),
        csv="results/tables/phase_study.csv",
        tex="results/tables/phase_study.tex",
    log:
        "logs/make_phase_study_table.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        cutoffs=[int(c) for c in CUTOFFS],
        convention=get_convention,
    script:
        "../scripts/make_phase_study_table.py"


rule plot_signals:
    """Fig. 4 (phase of one STFT bin) and Fig. 5 (magnitude spectrograms) for one test clip;
    beside each, under the same stem, the data it draws as CSV."""
    input:
        unpack(get_figure_manifests),
        code=workflow.source_path("../../src/tdpr/report/figures.py"),
    output:
        phase=report(
            "results/figures/phase_bin.png",
            caption="../report/fig_phase.rst",
            category="Figures",
        ),
        spectrograms=report(
            "results/figures/spectrograms.png",
            caption="../report/fig_spectrograms.rst",
            category="Figures",
        ),
        phase_data="results/figures/phase_bin.csv",
        spectrogram_data="results/figures/spectrograms.csv",
    log:
        "logs/plot_signals.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        clip=REPORT["figure_clip"],
        cutoff=REPORT["figure_cutoff"],
        phase_bin=REPORT["phase_bin"],
        phase_frames=REPORT["phase_frames"],
    script:
        "../scripts/plot_signals.py"


rule plot_metrics:
    """LSD against cutoff per system, the phase metrics, and the training curves of every
    model (the baselines' LSD on the same validation items as lines); each with its data as
    CSV beside it."""
    input:
        unpack(get_histories),
        metrics="results/metrics/metrics.csv",
        train_clips="results/clips/train.csv",
        valid_clips="results/clips/validation.csv",
        spectrum="results/baselines/mean_spectrum.json",
        code=workflow.source_path("../../src/tdpr/report/figures.py"),
    output:
        lsd=report(
            "results/figures/lsd_vs_cutoff.png",
            caption="../report/fig_lsd_cutoff.rst",
            category="Figures",
        ),
        training=report(
            "results/figures/training_curves.png",
            caption="../report/fig_training.rst",
            category="Figures",
        ),
        phase=report(
            "results/figures/phase_metrics.png",
            caption="../report/fig_phase_metrics.rst",
            category="Figures",
        ),
        lsd_data="results/figures/lsd_vs_cutoff.csv",
        training_data="results/figures/training_curves.csv",
        phase_data="results/figures/phase_metrics.csv",
    log:
        "logs/plot_metrics.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        levels=get_level_params,
    script:
        "../scripts/plot_metrics.py"


rule export_listening_test:
    """The AB and MOS listening tests: loudness-matched 5-s excerpts and webMUSHRA configs."""
    input:
        unpack(get_listening_manifests),
        clips="results/clips/test.csv",
        code=workflow.source_path("../../src/tdpr/report/listening.py"),
    output:
        excerpts="results/listening/excerpts.csv",
    log:
        "logs/export_listening_test.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        kit=get_listening_params,
    script:
        "../scripts/export_listening_test.py"


rule ingest_ratings:
    """Figs. 2 (AB preference) and 3 (MOS box plots) from real listening-test results, and the
    tallies each draws as CSV beside it."""
    input:
        ratings=REPORT["ratings"],
        code=workflow.source_path("../../src/tdpr/report/ratings.py"),
    output:
        ab=report(
            "results/figures/ab_preference.png",
            caption="../report/fig_ab.rst",
            category="Listening tests",
        ),
        mos=report(
            "results/figures/mos.png",
            caption="../report/fig_mos.rst",
            category="Listening tests",
        ),
        ab_data="results/figures/ab_preference.csv",
        mos_data="results/figures/mos.csv",
    log:
        "logs/ingest_ratings.log",
    conda:
        "../../envs/tdpr.yaml"
    script:
        "../scripts/ingest_ratings.py"
