"""Test-set stage: the test clips low-passed at each configured cutoff, one drawn filter per clip."""


rule degrade_testset:
    """Degrade every test clip at one cutoff (filter type and order drawn from a fixed seed)."""
    input:
        clips="results/clips/test.csv",
    output:
        manifest="results/testsets/{cutoff}.csv",
        audio=directory("results/testsets/{cutoff}"),
    log:
        "logs/degrade_testset/{cutoff}.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        testset=get_testset_params,
    script:
        "../scripts/degrade_testset.py"
