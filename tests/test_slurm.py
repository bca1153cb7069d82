"""The SLURM profile on a real single-node cluster (tests/slurm/cluster.py).

One Snakemake run of the tiny configuration with ``--workflow-profile profiles/slurm`` serves
both tests. Every job goes through sbatch, and one training job is given a one-minute time
limit and enough epochs to outlast it: SLURM kills it (TIMEOUT), Snakemake resubmits it
(``retries: 1`` of the profile), the resubmitted job resumes from the checkpoint the killed one
left, and the run completes. Another training asks two GPUs (``gpu=2``): the rule trains it in
two processes (torchrun, DDP with gloo, as the node's GPUs are fake) through the same profile.

By default the run goes up to the trainings and the degraded test sets (:data:`UNTIL`, 13 jobs,
about 5 minutes on 2 cores: every SLURM job parses the workflow twice, batch script then srun
step, before its rule starts, and on 2 cores that overhead, not the work, sets the pace): every
kind of request the profile shapes (2 threads, 6 GB, defaults, the two GPU trainings with their
own time limits). ``TDPR_SLURM_FULL=1`` makes the whole tiny workflow to completion instead
(about 50 jobs, about 10 minutes), every rule through sbatch; the CI budget keeps the default.

The cluster's partition and account reach the profile through SBATCH_PARTITION and
SBATCH_ACCOUNT, as they would for a user. Overridden on the command line for this small node:
status checks start after 5 s (not 20); ``--max-threads`` caps rules at the node's CPUs (the
profile asks 8 for a training); train_model gets 1 thread and time limits of 10 minutes, or
1 minute then 10 for the model under test (the profile's 24 h cannot be tested).

Needs root on Debian with ``slurmctld slurmd slurm-client slurmdbd munge mariadb-server``
installed and ``pip install snakemake-executor-plugin-slurm``; skips otherwise.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from slurm.cluster import SlurmCluster, missing_prerequisites  # tests/slurm/cluster.py

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles" / "slurm"
TINY = ROOT / ".test" / "config.yaml"
PAPER_SYSTEMS = ROOT / ".test/paper-systems.yaml"  # the cluster run needs no phase variants
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
#: Rules the default run goes up to (``--until``), with everything they depend on. None may
#: depend on another: Snakemake stops at the first of them it meets on a path.
UNTIL = ("train_model", "train_vocoder", "degrade_testset")
FULL = os.environ.get("TDPR_SLURM_FULL") == "1"
RUN_TIMEOUT = 1800 if FULL else 900  # s: the Snakemake run (about 10 or 4.5 minutes here)
#: CPU seconds of training the model under test is given: more than a first attempt can do
#: before its one-minute limit is enforced (SLURM checks limits every 30 s, so the kill comes
#: 60-95 s after the start, the first ~10 s of which go to starting Snakemake and torch: at most
#: 85 s of training, on the one thread the job is given). The calibration counts CPU time, not
#: wall time, so a machine busy with other tests (the slow tier runs a test file per core)
#: cannot make it read slow and leave the first attempt too little to do: whatever the load,
#: one thread does at most one CPU second per second.
TRAIN_SECONDS = 120


@dataclass
class Run:
    """What the module's Snakemake run left behind."""

    workdir: Path
    result: subprocess.CompletedProcess
    seconds: float
    args: list[str]
    job_counts: dict[str, int]
    jobs: list[dict[str, str]]
    victim: str | None = None  # the model whose training is killed at its time limit
    epochs: int = 0
    ddp: str | None = None  # the model trained in two processes (resources gpu=2)

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    def tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]


def skip_reason() -> str | None:
    reason = missing_prerequisites()
    if reason is None and importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        reason = "pip package snakemake-executor-plugin-slurm is not installed"
    return reason


def snakemake(workdir: Path, *args: str, env: dict | None = None, timeout: float = 120):
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=workdir,
        env=env,
    )


def job_stats(output: str) -> dict[str, int]:
    """The run's 'Job stats' table (rule -> number of jobs), without the 'all' target."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Job stats")), len(lines))
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    counts.pop("all", None)
    return counts


def rule_of(comment: str, rules: list[str]) -> str | None:
    """The rule of a job from its sbatch comment (``rule_<rule>[_wildcards_<values>]``)."""
    for rule in sorted(rules, key=len, reverse=True):
        if comment == f"rule_{rule}" or comment.startswith(f"rule_{rule}_wildcards_"):
            return rule
    return None


def merged_config(*files: Path) -> dict:
    """The workflow's config as Snakemake builds it: config/config.yaml, then each file."""
    from snakemake.utils import update_config

    from tdpr.config import validate_config

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for path in files:
        update_config(config, yaml.safe_load(path.read_text()))
    return validate_config(config)


def seconds_per_epoch(name: str, folder: Path) -> float:
    """CPU time of one epoch of model ``name`` at its tiny settings, on one thread as in the job.

    Measured on a resumed run (epochs 3 to 12), so it includes what a job spends per epoch
    besides the epoch itself (checkpoint, history, TensorBoard) but not torch's warm-up. CPU
    time, not wall time: the same on an idle machine and a busy one (see :data:`TRAIN_SECONDS`).
    """
    import soundfile as sf
    import torch
    from conftest import piano_like

    from tdpr.train.config import resolve_model_config
    from tdpr.train.run import train_model

    config = merged_config(TINY)
    arch, train_cfg = resolve_model_config(config, name)
    rate, seconds = config["data"]["sample_rate"], config["data"]["clip_seconds"]
    manifests = []
    for split, n in (("train", 6), ("validation", 2)):
        (folder / split).mkdir(parents=True)
        rows = []
        for i in range(n):
            path = f"{split}/{i}.wav"
            sf.write(folder / path, piano_like(seconds, rate, 1, seed=i)[:, 0], rate, "PCM_16")
            rows.append({"clip_id": f"{split}_{i}", "path": path})
        pd.DataFrame(rows).to_csv(folder / f"{split}.csv", index=False)
        manifests.append(folder / f"{split}.csv")
    outputs = {"model_out": folder / "model.pt", "history_out": folder / "history.csv"}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cpu = []
        for epochs in (2, 12):
            start = time.process_time()
            cfg = {**train_cfg, "epochs": epochs}
            train_model(name, arch, cfg, *manifests, **outputs, work_dir=folder / "work")
            cpu.append(time.process_time() - start)
    finally:
        torch.set_num_threads(threads)
    return cpu[1] / 10


@pytest.fixture(scope="module")
def cluster():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with SlurmCluster() as running:
        yield running


@pytest.fixture(scope="module")
def run(cluster: SlurmCluster, tmp_path_factory) -> Run:
    """The tiny workflow on the cluster, with one training set up to hit its time limit."""
    base = tmp_path_factory.mktemp("slurm-run")
    workdir = base / "work"
    workdir.mkdir()
    env = {**cluster.env, "SBATCH_ACCOUNT": cluster.account, "SBATCH_PARTITION": cluster.partition}
    listed = snakemake(workdir, "--list-rules", "--configfile", str(TINY), env=env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    rules = listed.stdout.split()

    args = ["--workflow-profile", str(PROFILE), "--slurm-init-seconds-before-status-checks", "5"]
    # A job asking more CPUs than the node has would pend forever (reason PartitionConfig).
    args += ["--max-threads", str(cluster.cpus)]
    until = [rule for rule in UNTIL if rule in rules]
    if until and not FULL:
        args += ["--until", *until]
    configfiles = [str(TINY), str(PAPER_SYSTEMS)]
    victim, epochs, ddp = None, 0, None
    if "train_model" in rules:
        victim, ddp = list(merged_config(TINY)["models"])[:2]
        epochs = math.ceil(TRAIN_SECONDS / seconds_per_epoch(victim, base / "calibration"))
        override = base / "long-training.yaml"
        override.write_text(yaml.safe_dump({"models": {victim: {"train": {"epochs": epochs}}}}))
        limit = f"(1 if attempt == 1 else 10) if wildcards.model == '{victim}' else 10"
        configfiles.append(str(override))
        args += ["--set-threads", "train_model=1"]
        gpus = f"2 if wildcards.model == '{ddp}' else 1"
        args += ["--set-resources", f"train_model:runtime={limit}", f"train_model:gpu={gpus}"]

    args += ["--configfile", *configfiles]
    start = time.monotonic()
    try:
        result = snakemake(workdir, *args, env=env, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as err:
        out = b"".join(o or b"" for o in (err.stdout, err.stderr)).decode(errors="replace")
        (base / "snakemake.out").write_text(out)
        queue = cluster.run(["squeue", "-o", "%i %T %r %k"], check=False).stdout
        pytest.fail(
            f"Snakemake did not finish within {RUN_TIMEOUT} s (output in {base}/snakemake.out)."
            f"\nSLURM queue (reason, comment = rule):\n{queue}\nEnd of its output:\n{out[-4000:]}"
        )
    seconds = time.monotonic() - start
    (base / "snakemake.out").write_text(result.stdout + result.stderr)
    jobs = cluster.sacct("JobID,JobName,State,Comment,Timelimit,Elapsed")
    counts = job_stats(result.stdout + result.stderr)
    return Run(workdir, result, seconds, args, counts, jobs, victim, epochs, ddp)


def test_tiny_workflow_completes_with_every_job_on_slurm(run: Run, cluster: SlurmCluster) -> None:
    assert run.result.returncode == 0, run.tail()
    assert run.job_counts, run.tail()
    # Everything planned is there and up to date: planning the same run again finds no job.
    env = {**cluster.env, "SBATCH_ACCOUNT": cluster.account, "SBATCH_PARTITION": cluster.partition}
    again = snakemake(run.workdir, *run.args, "-n", env=env)
    out = again.stdout + again.stderr
    assert again.returncode == 0 and job_stats(out) == {}, out[-3000:]
    assert "Nothing to be done" in out or re.search(r"^total +0$", out, re.MULTILINE), out[-3000:]

    # Every job of every rule went through sbatch and COMPLETED (sacct with the rule name in
    # its comment); the only other state is the injected time-limit kill of one training.
    completed: dict[str, int] = {}
    for job in run.jobs:
        rule = rule_of(job["Comment"], list(run.job_counts))
        assert rule is not None, f"unexpected job {job}"
        if job["State"] == "COMPLETED":
            completed[rule] = completed.get(rule, 0) + 1
        else:
            injected = f"rule_train_model_wildcards_{run.victim}"
            assert (job["State"], job["Comment"]) == ("TIMEOUT", injected), job
    assert completed == run.job_counts, run.tail()


def test_training_killed_at_its_time_limit_resumes_from_its_checkpoint(run: Run) -> None:
    if run.victim is None:
        pytest.skip("rule train_model is not in the workflow (snakemake --list-rules)")
    assert run.result.returncode == 0, run.tail()
    name = f"rule_train_model_wildcards_{run.victim}"
    attempts = sorted((j for j in run.jobs if j["Comment"] == name), key=lambda j: int(j["JobID"]))
    # The first job was killed by SLURM at its 1-minute limit; the resubmission completed.
    assert [(j["State"], j["Timelimit"]) for j in attempts] == [
        ("TIMEOUT", "00:01:00"),
        ("COMPLETED", "00:10:00"),
    ], attempts
    assert "Trying to restart job" in run.output

    # Snakemake empties the rule log before each attempt: this is the resubmitted job's. It
    # continued after the last epoch the killed job had checkpointed.
    log = (run.workdir / f"logs/train_model/{run.victim}.log").read_text()
    resumed = [int(n) for n in re.findall(r"resuming from epoch (\d+)", log)]
    assert len(resumed) == 1 and 0 < resumed[0] < run.epochs, (resumed, run.epochs)
    trained = [int(n) for n in re.findall(r"epoch (\d+)/\d+ \| loss=", log)]
    assert trained == list(range(resumed[0] + 1, run.epochs + 1))

    history = pd.read_csv(run.workdir / f"results/models/{run.victim}/history.csv")
    assert list(history["epoch"]) == list(range(1, run.epochs + 1))
    assert (run.workdir / f"results/models/{run.victim}/model.pt").is_file()


def test_a_training_asking_two_gpus_trains_in_two_processes(run: Run) -> None:
    if run.ddp is None:
        pytest.skip("rule train_model is not in the workflow (snakemake --list-rules)")
    assert run.result.returncode == 0, run.tail()
    name = f"rule_train_model_wildcards_{run.ddp}"
    assert [j["State"] for j in run.jobs if j["Comment"] == name] == ["COMPLETED"]
    log = (run.workdir / f"logs/train_model/{run.ddp}.log").read_text()
    assert "--nproc-per-node=2" in log and "distributed | rank 0 of 2 on cpu" in log, log[-3000:]
    history = pd.read_csv(run.workdir / f"results/models/{run.ddp}/history.csv")
    assert history["valid_lsd"].notna().all() and len(history) >= 1
    assert (run.workdir / f"results/models/{run.ddp}/model.pt").is_file()
