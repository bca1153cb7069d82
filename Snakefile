"""tdpr: phase repair for time-domain CNNs in music super-resolution.

MAESTRO v3 (or the embedded demo data) -> 16-kHz clips -> degraded test sets and trained
TD-CNNs -> metrics.
`snakemake --cores all` runs the full reproduction with config/config.yaml;
`snakemake --cores all --configfile config/demo.yaml` runs the embedded demo.
"""

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    split="|".join(SPLITS),
    shard=r"\d+",
    cutoff="|".join(re.escape(c) for c in CUTOFFS),
    system=r"[a-z0-9_]+",
    model="|".join(MODELS + BASELINES),
    variant="|".join(v for v in VARIANTS if v != PLAIN and not VARIANTS[v].keep_band),
    base="|".join(v for v in VARIANTS if not VARIANTS[v].keep_band),


include: "workflow/rules/data.smk"
include: "workflow/rules/testset.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/enhance.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/weights.smk"


# Every product of the configured reproduction.
rule all:
    default_target: True
    input:
        get_final_outputs(),
