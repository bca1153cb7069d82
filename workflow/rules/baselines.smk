"""Baselines stage: what the systems that need no learning take from the training data."""


rule compute_mean_spectrum:
    """The training clips' mean power spectrum (1024/256 STFT), which the noise fill and the band
    replication shape their bands by; stored with the manifest's SHA-256 as provenance.
    """
    input:
        train="results/clips/train.csv",
    output:
        spectrum="results/baselines/mean_spectrum.json",
    log:
        "logs/compute_mean_spectrum.log",
    conda:
        "../../envs/tdpr.yaml"
    threads: 1
    script:
        "../scripts/compute_mean_spectrum.py"
