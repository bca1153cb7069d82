"""Enhancement stage: the TFGAN vocoder, TD-CNN outputs on the test sets, their phase variants."""


rule train_vocoder:
    """Train the TFGAN vocoder on clean training clips (resumable from results/vocoder/work)."""
    input:
        train="results/clips/train.csv",
        valid="results/clips/validation.csv",
    output:
        model="results/vocoder/tfgan.pt",
        history="results/vocoder/history.csv",
    log:
        "logs/train_vocoder.log",
    conda:
        "../../envs/tdpr.yaml"
    threads: 4
    resources:
        gpu=1,
        mem_mb=16000,
        runtime=7 * 24 * 60,
    params:
        arch=config["vocoder"]["arch"],
        discriminator=config["vocoder"]["discriminator"],
        train=config["vocoder"]["train"],
        work_dir="results/vocoder/work",
    script:
        "../scripts/train_vocoder.py"


rule enhance_testset:
    """The outputs of a TD-CNN, or of a no-learning baseline, for one degraded test set
    (chunked, no phase repair)."""
    input:
        unpack(get_enhance_inputs),
    output:
        manifest="results/enhanced/{model}/{cutoff}.csv",
        audio=directory("results/enhanced/{model}/{cutoff}"),
    log:
        "logs/enhance_testset/{model}-{cutoff}.log",
    conda:
        "../../envs/tdpr.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        enhance=get_enhance_params,
    script:
        "../scripts/enhance_testset.py"


rule repair_phase:
    """One phase variant of one TD-CNN's outputs: their magnitude with the phase of a phase
    source (TD-PR: the vocoder's; GT-phase: the ground truth's; ...) in one band."""
    input:
        unpack(get_phase_inputs),
    output:
        manifest="results/phase/{variant}/{model}/{cutoff}.csv",
        audio=directory("results/phase/{variant}/{model}/{cutoff}"),
    log:
        "logs/repair_phase/{variant}-{model}-{cutoff}.log",
    conda:
        "../../envs/tdpr.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        phase=get_phase_params,
    script:
        "../scripts/repair_phase.py"


rule keep_given_band:
    """One system's outputs with the given band put back: the degraded input below the cutoff,
    the output above it (keep_band.variants)."""
    input:
        unpack(get_keep_band_inputs),
    output:
        manifest="results/keepband/{base}/{model}/{cutoff}.csv",
        audio=directory("results/keepband/{base}/{model}/{cutoff}"),
    log:
        "logs/keep_given_band/{base}-{model}-{cutoff}.log",
    conda:
        "../../envs/tdpr.yaml"
    params:
        cutoff_hz=get_cutoff_hz,
    script:
        "../scripts/keep_given_band.py"
