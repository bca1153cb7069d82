"""Training stage: each configured time-domain CNN on the training clips, degraded on the fly."""


rule train_model:
    """Train one TD-CNN; resumable state lives in results/models/{model}/work, outside the
    declared outputs, so a killed or failed job continues where it stopped when rerun.
    """
    input:
        train="results/clips/train.csv",
        valid="results/clips/validation.csv",
    output:
        model="results/models/{model}/model.pt",
        history="results/models/{model}/history.csv",
    log:
        "logs/train_model/{model}.log",
    wildcard_constraints:
        model="|".join(MODELS),
    conda:
        "../../envs/tdpr.yaml"
    threads: 4
    resources:
        gpu=1,
        mem_mb=16000,
        runtime=7 * 24 * 60,
    params:
        arch=get_model_arch,
        train=get_model_train,
        work_dir="results/models/{model}/work",
    script:
        "../scripts/train_model.py"
