"""Weights stage: the trained models as a weights folder, the form in which they ship."""


rule export_weights:
    """The TD-CNNs and the vocoder with a manifest (the default system, chosen by the run's own
    LSD) and a model card (data, renders, steps, test figures against the baselines)."""
    input:
        unpack(get_weights_inputs),
    output:
        weights=directory("results/weights"),
    log:
        "logs/export_weights.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        models=MODELS,
        config_name=get_config_name,
    script:
        "../scripts/export_weights.py"
