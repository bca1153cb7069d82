"""Evaluation stage: per clip, per system, per cutoff metrics into one tidy long CSV."""


rule compute_metrics:
    """Metrics of one system's outputs at one cutoff against the clean test clips."""
    input:
        reference="results/clips/test.csv",
        estimate=get_system_manifest,
    output:
        table="results/metrics/{system}/{cutoff}.csv",
    log:
        "logs/compute_metrics/{system}-{cutoff}.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        metrics=get_metric_params,
    script:
        "../scripts/compute_metrics.py"


rule gather_metrics:
    """Concatenate every per-system table into results/metrics/metrics.csv, plus clip means."""
    input:
        tables=get_metric_tables,
    output:
        metrics="results/metrics/metrics.csv",
        summary="results/metrics/summary.csv",
    log:
        "logs/gather_metrics.log",
    conda:
        "../../envs/tdpr.yaml"
    script:
        "../scripts/gather_metrics.py"
