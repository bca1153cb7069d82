"""Mutation score of the modules that decide the paper's numbers (mutmut 3).

Run: ``python bench/bench_mutation.py [--modules dsp/filters.py baselines/] [--limit 40]
[--max-children 1] [--out results.md]`` (needs the ``mutation`` extra). Each module gets its own
scratch copy of ``src/`` and ``tests/`` whose ``pyproject.toml`` carries a ``[tool.mutmut]``
section that mutates only that module and runs only its fast tests; mutmut records which test
reaches which function, so a mutant runs only the tests that call the function it changes.
``--limit N`` draws N mutants per module with a fixed seed for a quick run. The script prints
per module the mutants, killed, timeout, survived, no-test and equivalent counts and the killed
share, then each survivor as a diff of the mutated line. A mutant listed in ``EQUIVALENT``
(its mutated line must still match) is an equivalent mutant, not a hole in the suite, and one in
``GPU_ONLY`` differs only on a CUDA device; both are counted apart without being run. A mutant
that only rewords an exception's or a log call's message is not run but counted apart
("message"). The killed share is killed plus timeout over the other mutants.
``--rerun-survivors KEPT`` runs only what survived a kept earlier run (``--keep``), counting
that run's killed mutants: the way to score new tests without a whole run.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path("src/tdpr")
SEED = 0
#: Fast tier only: the tiers conftest.py deselects by default, named explicitly.
FAST_TIER = "not slow and not slurm and not browser and not cuda"

#: Module (relative to src/tdpr; a folder ends in "/") -> the test files that cover it.
MODULES: dict[str, list[str]] = {
    "metrics/": ["tests/metrics", "tests/test_metrics.py"],
    "evaluate.py": ["tests/test_evaluate.py"],
    "phase/repair.py": ["tests/phase"],
    "train/steps.py": [
        "tests/train/test_steps_tasks.py",
        "tests/train/test_loop.py",
        "tests/train/test_vocoder.py",
        "tests/train/test_distributed.py",
        "tests/baselines/test_levels.py",
    ],
    "train/losses.py": ["tests/train/test_losses.py"],
    "dsp/filters.py": ["tests/dsp/test_filters.py"],
    "report/tables.py": ["tests/report/test_tables.py", "tests/report/test_table_files.py"],
    "baselines/": ["tests/baselines"],
}

#: Survivors that no test can kill: mutant name -> (its mutated line, why it changes nothing).
#: The text must occur in a changed line of the mutant's diff ("-" and the line for a deleted
#: one); an entry whose text no longer does (the function changed and mutmut renumbered its
#: mutants) is reported as stale and the mutant is run. Named mutants are not run: they survive
#: by definition, and running each through all its tests is the slowest part of a run.
EQUIVALENT: dict[str, tuple[str, str]] = {
    "tdpr.dsp.filters.x__stft_cut__mutmut_8": (
        "batch = torch.from_numpy(np.ascontiguousarray(x, dtype=None).reshape(-1, x.shape[-1]))",
        "the STFT cut then runs in float64, not float32: its float32 output moves by rounding only",
    ),
    "tdpr.dsp.filters.x__stft_cut__mutmut_10": (
        "batch = torch.from_numpy(np.ascontiguousarray(x, ).reshape(-1, x.shape[-1]))",
        "the STFT cut then runs in float64, not float32: its float32 output moves by rounding only",
    ),
    "tdpr.dsp.filters.x__stft_cut__mutmut_12": (
        "np.ascontiguousarray(x, dtype=np.float32).reshape(-2, x.shape[-1])",
        "NumPy infers a dimension given as any negative number, -2 as -1",
    ),
    "tdpr.dsp.filters.x__stft_cut__mutmut_23": (
        "spec = stft(batch, STFT_N_FFT, STFT_HOP, )",
        "reflect is the default pad_mode of tdpr.dsp.stft.stft",
    ),
    "tdpr.dsp.filters.x_apply_degradation__mutmut_40": (
        "return impl.apply(x, design, fs).astype(np.float32, copy=None)",
        "astype's copy flag only decides whether a new array is allocated, not its values",
    ),
    "tdpr.dsp.filters.x_apply_degradation__mutmut_42": (
        "return impl.apply(x, design, fs).astype(np.float32, )",
        "astype's copy flag only decides whether a new array is allocated, not its values",
    ),
    "tdpr.dsp.filters.x_apply_degradation__mutmut_49": (
        "return impl.apply(x, design, fs).astype(np.float32, copy=True)",
        "astype's copy flag only decides whether a new array is allocated, not its values",
    ),
    "tdpr.dsp.filters.x_apply_degradation__mutmut_45": (
        "return impl.apply(x, design, None).astype(np.float32, copy=False)",
        "no degradation's apply reads fs: its design already holds the rate",
    ),
    "tdpr.dsp.filters.x_design_sos__mutmut_19": (
        'kw = {"btype": "LOW", "output": "sos", "fs": fs}',
        "scipy lower-cases btype",
    ),
    "tdpr.dsp.filters.x_design_sos__mutmut_23": (
        'kw = {"btype": "low", "output": "SOS", "fs": fs}',
        "scipy lower-cases output",
    ),
    "tdpr.dsp.filters.xǁIIRLowpassǁapply__mutmut_6": (
        "return signal.sosfiltfilt(sos, x, )",
        "axis=-1 is sosfiltfilt's default",
    ),
    "tdpr.dsp.filters.xǁSubsamplingǁapply__mutmut_1": (
        "if ratio > 1:  # within about 1/1000 of Nyquist: nothing to remove",
        "at ratio 1 (up = down = 1) resample_poly returns a copy, as the early return does",
    ),
    "tdpr.dsp.filters.xǁSubsamplingǁapply__mutmut_2": (
        "if ratio >= 2:  # within about 1/1000 of Nyquist: nothing to remove",
        "the ratio never exceeds 1 (cutoff below Nyquist), and at 1 resample_poly returns a copy",
    ),
    "tdpr.dsp.filters.xǁSubsamplingǁapply__mutmut_16": (
        "low = signal.resample_poly(x, up, down, axis=-1, )",
        "the cached FIR is resample_poly's own default window, built once for speed",
    ),
    "tdpr.dsp.filters.xǁSubsamplingǁapply__mutmut_28": (
        "return signal.resample_poly(low, down, up, axis=-1, )[..., : x.shape[-1]]",
        "the cached FIR is resample_poly's own default window, built once for speed",
    ),
    "tdpr.dsp.filters.x_stft_cut_bin__mutmut_10": (
        "math.floor(Fraction(STFT_N_FFT / 2 + 1) * Fraction(cutoff_hz)",
        "2048 / 2 + 1 is 1025.0 exactly, and Fraction(1025.0) == Fraction(1025)",
    ),
    "tdpr.metrics.conventions.x__log__mutmut_2": (
        "if base == 11:",
        "for base 10 the general branch, log(x) / log(10), is log10(x) up to float rounding",
    ),
    "tdpr.metrics.plausibility.x_if_deviation_distance__mutmut_83": (
        "zip(dev_ref, dev_est, mask, strict=None)",
        "the three sequences are split from one batch: equal lengths, so strict never fires",
    ),
    "tdpr.metrics.spectral.x_lsd_lf_metric__mutmut_6": (
        "return _lsd_bins(ctx.squared_log_diff, slice(ctx.cut))",
        "slice(k) is slice(None, k)",
    ),
    "tdpr.metrics.spectral.x_si_sdr__mutmut_8": (
        "ref, est = prepare(ref, est, n_fft=2)",
        "differs for one-sample signals only, which have no SI-SDR either way (minus its mean, a"
        " single sample is 0: NaN, or refused)",
    ),
    "tdpr.metrics.context.x_cutoff_bin__mutmut_4": (
        "if not 0 <= cutoff_hz < sample_rate / 2:",
        "a cutoff of 0 falls in bin 0, which the next check refuses",
    ),
    "tdpr.metrics.apbwe.x__diff_with_first__mutmut_13": (
        "torch.zeros_like(phase.narrow(dim, 1, 1))",
        "zeros_like reads only the shape, the same for either slice",
    ),
    "tdpr.metrics.apbwe.x__phase__mutmut_12": (
        "return cached[name].reshape(ctx.signals[1].shape[:-1])",
        "the checked pair has one shape",
    ),
    "tdpr.metrics.apbwe.x_lsd_metric__mutmut_3": (
        "return lsd(*_flat_pair(ctx)).reshape(ctx.signals[1].shape[:-1])",
        "the checked pair has one shape",
    ),
    "tdpr.metrics.apbwe.x_check_pair__mutmut_39": (
        "if length <= n_fft / 2:",
        "for a whole number of samples, <= n/2 and <= n//2 agree",
    ),
    "tdpr.metrics.plausibility.x_consistency_metric__mutmut_2": (
        "shape = ctx.signals[1].shape[:-1]",
        "the checked pair has one shape",
    ),
    "tdpr.metrics.conventions.x_window__mutmut_8": (
        "return torch.hann_window(n_fft, dtype=torch.float64)",
        "periodic=True is torch.hann_window's default",
    ),
    "tdpr.metrics.conventions.x_split_bin__mutmut_13": (
        "if not 1 < cutoff_hz < sample_rate / 2:",
        "a cutoff of at most 1 Hz falls in bin 0 (refused next) at every rate above 2.05 kHz",
    ),
    "tdpr.metrics.conventions.x_split_bin__mutmut_14": (
        "if not 0 <= cutoff_hz < sample_rate / 2:",
        "a cutoff of 0 falls in bin 0, which the next check refuses",
    ),
    "tdpr.evaluate.x_compute_metrics_table__mutmut_7": (
        'names = metric_names(optional=["visqol"] if visqol else [])',
        "with_cutoff=True is metric_names' default",
    ),
    "tdpr.evaluate.x_evaluate_system__mutmut_32": (
        "table.to_csv(tmp, index=None)",
        "pandas reads an index flag of None as False",
    ),
    "tdpr.evaluate.x_gather_tables__mutmut_71": (
        "long.to_csv(tmp, index=None)",
        "pandas reads an index flag of None as False",
    ),
    "tdpr.evaluate.x_gather_tables__mutmut_77": (
        "summary.to_csv(tmp, index=None)",
        "pandas reads an index flag of None as False",
    ),
    "tdpr.evaluate.x_gather_tables__mutmut_18": (
        "long = pd.concat(frames, ignore_index=None)",
        "the concatenated index is dropped by reset_index(drop=True) below",
    ),
    "tdpr.evaluate.x_gather_tables__mutmut_20": (
        "long = pd.concat(frames, )",
        "the concatenated index is dropped by reset_index(drop=True) below",
    ),
    "tdpr.evaluate.x_gather_tables__mutmut_21": (
        "long = pd.concat(frames, ignore_index=False)",
        "the concatenated index is dropped by reset_index(drop=True) below",
    ),
    "tdpr.evaluate.x_gather_tables__mutmut_50": (
        'grouped = long.groupby(keys, sort=None)["value"]',
        "the rows are already sorted by the keys, so groups come in sorted order anyway",
    ),
    "tdpr.evaluate.x_gather_tables__mutmut_52": (
        'grouped = long.groupby(keys, )["value"]',
        "sort=True is groupby's default",
    ),
    "tdpr.evaluate.x_gather_tables__mutmut_53": (
        'grouped = long.groupby(keys, sort=False)["value"]',
        "the rows are already sorted by the keys, so groups come in sorted order anyway",
    ),
    "tdpr.phase.repair.x_repair__mutmut_20": (
        "if y.dim() == 0 or y.shape[-1] <= n_fft / 2:",
        "for a whole number of samples, <= n/2 and <= n//2 agree",
    ),
    "tdpr.phase.repair.x_repair__mutmut_129": (
        "return z.to(None), consistency",
        "the iSTFT of a spectrogram made from y (its magnitude in y's dtype) returns y's dtype",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ_estimate__mutmut_14": (
        "return (forward or self.forward)(degraded.to(self.device, ))",
        "non_blocking only lets a host-to-GPU copy overlap; the values are the same",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ_estimate__mutmut_15": (
        "degraded.to(self.device, non_blocking=False)",
        "non_blocking only lets a host-to-GPU copy overlap; the values are the same",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁstep__mutmut_6": (
        "clean = clean.to(self.device, )",
        "non_blocking only lets a host-to-GPU copy overlap; the values are the same",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁstep__mutmut_7": (
        "clean = clean.to(self.device, non_blocking=False)",
        "non_blocking only lets a host-to-GPU copy overlap; the values are the same",
    ),
    "tdpr.train.steps.xǁGANTaskǁstep__mutmut_20": (
        "clean.to(self.device, ),",
        "non_blocking only lets a host-to-GPU copy overlap; the values are the same",
    ),
    "tdpr.train.steps.xǁGANTaskǁstep__mutmut_21": (
        "clean.to(self.device, non_blocking=False),",
        "non_blocking only lets a host-to-GPU copy overlap; the values are the same",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁstep__mutmut_27": (
        "self.optimizer.zero_grad(set_to_none=None)",
        "a zeroed gradient and an absent one give the same gradient after backward",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁstep__mutmut_28": (
        "self.optimizer.zero_grad(set_to_none=False)",
        "a zeroed gradient and an absent one give the same gradient after backward",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ_loader__mutmut_1": (
        "pin = None",
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ_loader__mutmut_2": (
        'pin = self.device.type != "cuda"',
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ_loader__mutmut_3": (
        'pin = self.device.type == "XXcudaXX"',
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ_loader__mutmut_4": (
        'pin = self.device.type == "CUDA"',
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁbatches__mutmut_34": (
        "pin = None",
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁbatches__mutmut_35": (
        'pin = self.device.type != "cuda"',
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁbatches__mutmut_36": (
        'pin = self.device.type == "XXcudaXX"',
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁbatches__mutmut_37": (
        'pin = self.device.type == "CUDA"',
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁbatches__mutmut_40": (
        "options = loader_options(self.num_workers, None, self.cfg.seed)",
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁGANTaskǁbatches__mutmut_15": (
        "pin = None",
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁGANTaskǁbatches__mutmut_16": (
        'pin = self.device.type != "cuda"',
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁGANTaskǁbatches__mutmut_17": (
        'pin = self.device.type == "XXcudaXX"',
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁGANTaskǁbatches__mutmut_18": (
        'pin = self.device.type == "CUDA"',
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁGANTaskǁbatches__mutmut_22": (
        "make_loader(data, self.cfg.batch_size, self.num_workers, None, self.cfg.seed)",
        "pinned memory only speeds host-to-GPU copies: the same items on any device",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁbatches__mutmut_49": (
        "return DataLoader(data, batch_sampler=sampler, )",
        "the items come from (epoch, index) alone: loading them in worker processes or here"
        " gives the same batches (checked with 2 workers)",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁbatches__mutmut_15": (
        "if (n_items < len(data)) or True else data",
        "a Subset of every index is the dataset itself",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁbatches__mutmut_21": (
        "if n_items <= len(data) else data",
        "a Subset of every index is the dataset itself",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ__init____mutmut_17": (
        "ids = None",
        "DDP of a module on one device finds that device by itself without device_ids",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ__init____mutmut_18": (
        'ids = [self.device.index] if (self.device.type == "cuda") and False else None',
        "DDP of a module on one device finds that device by itself without device_ids",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ__init____mutmut_21": (
        'ids = [self.device.index] if self.device.type == "XXcudaXX" else None',
        "DDP of a module on one device finds that device by itself without device_ids",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ__init____mutmut_22": (
        'ids = [self.device.index] if self.device.type == "CUDA" else None',
        "DDP of a module on one device finds that device by itself without device_ids",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ__init____mutmut_25": (
        "wrapped = DistributedDataParallel(model, device_ids=None)",
        "DDP of a module on one device finds that device by itself without device_ids",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ__init____mutmut_36": (
        "self._global_sizes: list[int] = None",
        "one process never reads it; on more, batches() sets it before the first step",
    ),
    "tdpr.train.steps.xǁGANTaskǁ__init____mutmut_44": (
        "self.loss = None",
        "gan_step then builds the same GeneratorLoss on the batch's device (the task keeps one"
        " so as not to rebuild it every step)",
    ),
    "tdpr.train.steps.xǁGANTaskǁstep__mutmut_9": (
        "loss=None,",
        "gan_step then builds the same GeneratorLoss on the batch's device",
    ),
    "tdpr.train.steps.xǁGANTaskǁstep__mutmut_16": (
        "-        loss=self.loss,",
        "gan_step then builds the same GeneratorLoss on the batch's device",
    ),
    "tdpr.train.losses.xǁLogSpectralLossǁ__init____mutmut_7": (
        'self.register_buffer("window", torch.hann_window(n_fft), persistent=None)',
        "register_buffer reads a persistent flag of None as False",
    ),
    "tdpr.train.losses.xǁLogSpectralLossǁ_log_power__mutmut_13": (
        "-        center=True,",
        "center=True is torch.stft's default",
    ),
    "tdpr.train.losses.xǁLogSpectralLossǁ_log_power__mutmut_14": (
        '-        pad_mode="reflect",',
        "reflect is torch.stft's default pad_mode",
    ),
    "tdpr.train.losses.xǁLogSpectralLossǁforward__mutmut_8": (
        "with torch.autocast(estimate.device.type, ):",
        "the STFT, squares and logs have no lower-precision autocast kernels and the inputs are"
        " cast to float32 first: autocast on or off gives the same float32 numbers",
    ),
    "tdpr.train.losses.xǁLogSpectralLossǁforward__mutmut_9": (
        "with torch.autocast(estimate.device.type, enabled=True):",
        "the STFT, squares and logs have no lower-precision autocast kernels and the inputs are"
        " cast to float32 first: autocast on or off gives the same float32 numbers",
    ),
    "tdpr.train.losses.xǁMRSTFTLossǁforward__mutmut_8": (
        "with torch.autocast(estimate.device.type, ):",
        "the STFT, squares and logs have no lower-precision autocast kernels and the inputs are"
        " cast to float32 first: autocast on or off gives the same float32 numbers",
    ),
    "tdpr.train.losses.xǁMRSTFTLossǁforward__mutmut_9": (
        "with torch.autocast(estimate.device.type, enabled=True):",
        "the STFT, squares and logs have no lower-precision autocast kernels and the inputs are"
        " cast to float32 first: autocast on or off gives the same float32 numbers",
    ),
    "tdpr.baselines.base.xǁBaselineǁforward__mutmut_15": (
        'data = x.detach().to("cpu", None).numpy()',
        "enhance casts its input to float64 itself (float32 and float64 copies give the same"
        " output, tested)",
    ),
    "tdpr.baselines.base.xǁBaselineǁforward__mutmut_17": (
        'data = x.detach().to("cpu", ).numpy()',
        "enhance casts its input to float64 itself (float32 and float64 copies give the same"
        " output, tested)",
    ),
    "tdpr.baselines.levels.x_validation_levels__mutmut_24": (
        "systems = {name: load_baseline(name, spectrum, ) for name in baselines}",
        "each item sets the seed (seed + index) before the baseline runs",
    ),
    "tdpr.baselines.spectrum.x_accumulate__mutmut_4": (
        "N_FFT, None)",
        "torch.stft's default hop, n_fft // 4, is HOP (256)",
    ),
    "tdpr.baselines.spectrum.x_accumulate__mutmut_7": (
        "N_FFT, )",
        "torch.stft's default hop, n_fft // 4, is HOP (256)",
    ),
    "tdpr.baselines.spectrum.x_accumulate__mutmut_17": (
        "keep = power.mean(axis=0) >= SILENT_FRAME_POWER",
        "differs only for a frame whose mean power is exactly 1e-10",
    ),
    "tdpr.report.tables.x__bold_mask__mutmut_14": (
        "groups = table.groupby(level=group_level, sort=None) if group_level else [(None, table)]",
        "groupby reads sort=None as False",
    ),
    "tdpr.report.tables.x_extended_table__mutmut_38": (
        'rows = metrics[metrics["cutoff"].isin(cutoffs) | metrics["metric"].isin(names)]',
        "the extra rows reach the grouping, but each block is picked by cutoff and reindexed by"
        " metric, and n_clips counts per cell",
    ),
    "tdpr.metrics.conventions.x__log__mutmut_3": (
        "return x.log() if (base == math.e) and False else x.log() / math.log(base)",
        "for base e the general branch divides by log(e) = 1",
    ),
    "tdpr.metrics.conventions.x_convention_lsd__mutmut_69": (
        'out["lsd_lf"] = _reduce(d2, entry, slice(k))',
        "slice(k) is slice(None, k)",
    ),
    "tdpr.metrics.phase.x__high_band__mutmut_27": (
        "mask = (p >= threshold.clamp_min(ctx.floor))[..., k:, :]",
        "differs only where a value equals the threshold exactly",
    ),
    "tdpr.metrics.plausibility.x_if_deviation_distance__mutmut_40": (
        "loud = ref_spec.abs() >= peak * 10 ** (-range_db / 20)",
        "differs only where a value equals the threshold exactly",
    ),
    "tdpr.metrics.plausibility.x_consistency_db__mutmut_19": (
        "C.shape[-2] != n_fft / 2 + 1:",
        "n_fft is even here (checked first), so n/2 + 1 is n//2 + 1",
    ),
    "tdpr.metrics.plausibility.x_consistency_db__mutmut_35": (
        "if length <= n_fft / 2:",
        "for a whole number of samples or frames, <= n/2 and <= n//2 agree",
    ),
    "tdpr.metrics.plausibility.x_consistency_db__mutmut_50": (
        "projected = stft(istft(C, n_fft, hop, length=None), n_fft, hop)",
        "a centred iSTFT of N frames is (N - 1)·hop samples long by itself",
    ),
    "tdpr.metrics.visqol.x_visqol__mutmut_23": (
        "ref48, est48 = (resample(x, sample_rate, 48000).astype(None) for x in (ref, est))",
        "resample already returns float64 (the recorder test checks the dtype ViSQOL gets)",
    ),
    "tdpr.metrics.visqol.x_visqol_metric__mutmut_28": (
        "zip(flat_ref, flat_est, strict=None)",
        "the two sequences are split from one batch: equal lengths, so strict never fires",
    ),
    "tdpr.metrics.visqol.x_visqol_metric__mutmut_31": (
        "zip(flat_ref, flat_est, )",
        "the two sequences are split from one batch: equal lengths, so strict never fires",
    ),
    "tdpr.metrics.visqol.x_visqol_metric__mutmut_32": (
        "zip(flat_ref, flat_est, strict=False)",
        "the two sequences are split from one batch: equal lengths, so strict never fires",
    ),
    "tdpr.phase.repair.x_repair__mutmut_99": (
        "C = torch.polar(spec.abs(), phase.to(None))",
        "every registered source already returns its phase in the spectrogram's dtype",
    ),
    "tdpr.train.steps.x_lsd_sum__mutmut_10": (
        "keep = (ref != 0).any(+1)",
        "the signals are (B, T) here ([:, 0] of (B, 1, T)): dimension 1 is dimension -1",
    ),
    "tdpr.train.steps.x_lsd_sum__mutmut_15": (
        "& (est != 0).any(+1) &",
        "the signals are (B, T) here ([:, 0] of (B, 1, T)): dimension 1 is dimension -1",
    ),
    "tdpr.train.steps.x_lsd_sum__mutmut_19": (
        "torch.isfinite(est).all(+1)",
        "the signals are (B, T) here ([:, 0] of (B, 1, T)): dimension 1 is dimension -1",
    ),
    "tdpr.report.tables.x__latex__mutmut_43": (
        "zip(rows, bold.to_numpy(), marks.to_numpy(), strict=None)",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__latex__mutmut_47": (
        "zip(rows, bold.to_numpy(), marks.to_numpy(), )",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__latex__mutmut_48": (
        "zip(rows, bold.to_numpy(), marks.to_numpy(), strict=False)",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__latex__mutmut_62": (
        "for text, flag, mark in zip(row[n_index:], flags, marked, strict=None):",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__latex__mutmut_66": (
        "for text, flag, mark in zip(row[n_index:], flags, marked, ):",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__latex__mutmut_67": (
        "for text, flag, mark in zip(row[n_index:], flags, marked, strict=False):",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__markdown__mutmut_30": (
        "for row, flags, marked in zip(rows, bold.to_numpy(), marks.to_numpy(), strict=None):",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__markdown__mutmut_34": (
        "for row, flags, marked in zip(rows, bold.to_numpy(), marks.to_numpy(), ):",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__markdown__mutmut_35": (
        "for row, flags, marked in zip(rows, bold.to_numpy(), marks.to_numpy(), strict=False):",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__markdown__mutmut_47": (
        "for c, flag, mark in zip(row[n_index:], flags, marked, strict=None)",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__markdown__mutmut_51": (
        "for c, flag, mark in zip(row[n_index:], flags, marked, )",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__markdown__mutmut_52": (
        "for c, flag, mark in zip(row[n_index:], flags, marked, strict=False)",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__check_present__mutmut_5": (
        'have = set(zip(metrics["system"], metrics["cutoff"], strict=None))',
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__check_present__mutmut_8": (
        'have = set(zip(metrics["system"], metrics["cutoff"], ))',
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__check_present__mutmut_13": (
        'have = set(zip(metrics["system"], metrics["cutoff"], strict=False))',
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__tidy__mutmut_13": (
        'keys = [system_key(m, v) for m, v in zip(metrics["model"], metrics["variant"],'
        " strict=None)]",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__tidy__mutmut_16": (
        'keys = [system_key(m, v) for m, v in zip(metrics["model"], metrics["variant"], )]',
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__tidy__mutmut_21": (
        'keys = [system_key(m, v) for m, v in zip(metrics["model"], metrics["variant"],'
        " strict=False)]",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x_extended_table__mutmut_81": (
        "blocks.update({cutoff_title(c): frame for c, frame in zip(cutoffs, per_cutoff,"
        " strict=None)})",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x_extended_table__mutmut_84": (
        "blocks.update({cutoff_title(c): frame for c, frame in zip(cutoffs, per_cutoff, )})",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x_extended_table__mutmut_85": (
        "blocks.update({cutoff_title(c): frame for c, frame in zip(cutoffs, per_cutoff,"
        " strict=False)})",
        "the sequences zipped come from one frame: equal lengths, so strict never fires",
    ),
    "tdpr.report.tables.x__tidy__mutmut_27": (
        'cutoff = metrics["cutoff"].astype(None).round().astype(int)',
        "astype(None) gives float64, as astype(float) does",
    ),
    "tdpr.report.tables.x__bold_mask__mutmut_24": (
        "shown = block[column].astype(None).round(decimals[column])",
        "astype(None) gives float64, as astype(float) does",
    ),
    "tdpr.report.tables.x_extended_table__mutmut_69": (
        "wide.xs(c, level=None)",
        "xs without a level takes the first, which is cutoff",
    ),
    "tdpr.report.tables.x_extended_table__mutmut_71": (
        "wide.xs(c, )",
        "xs without a level takes the first, which is cutoff",
    ),
    "tdpr.report.tables.x_extended_table__mutmut_97": (
        'table.columns.name = ""',
        "neither the writers nor the CSV show the columns' name",
    ),
    "tdpr.report.tables.x_write_extended_table__mutmut_15": (
        "roles = _roles(table.index.get_level_values(+1))",
        "every table here has a two-level index, where level 1 is level -1",
    ),
    "tdpr.report.tables.x_write_formats__mutmut_4": (
        "labels = table.index.get_level_values(+1)",
        "only the phase study reaches this line without bold, and its index has two levels (level"
        " 1 is level -1)",
    ),
    "tdpr.report.tables.x_write_extended_table__mutmut_73": (
        "table, csv, md, tex, caption, None, decimals",
        "with bold given, write_formats never reads best",
    ),
    "tdpr.report.tables.x_write_table1__mutmut_70": (
        "table, csv, md, tex, caption, None, decimals",
        "with bold given, write_formats never reads best",
    ),
    "tdpr.report.tables.x_write_extended_table__mutmut_90": (
        'table, csv, md, tex, caption, best, decimals, group_level="XXCutoffXX",',
        "with bold given, write_formats reads group_level only as a flag for the LaTeX rules",
    ),
    "tdpr.report.tables.x_write_extended_table__mutmut_91": (
        'table, csv, md, tex, caption, best, decimals, group_level="cutoff",',
        "with bold given, write_formats reads group_level only as a flag for the LaTeX rules",
    ),
    "tdpr.report.tables.x_write_extended_table__mutmut_92": (
        'table, csv, md, tex, caption, best, decimals, group_level="CUTOFF",',
        "with bold given, write_formats reads group_level only as a flag for the LaTeX rules",
    ),
    "tdpr.report.tables.x_write_formats__mutmut_48": (
        "frame.to_csv(lineterminator=None)",
        "on POSIX pandas ends CSV lines with \\n by default",
    ),
    "tdpr.report.tables.x_write_table1__mutmut_56": (
        'extra = ""',
        "an empty string, like None, adds no CSV column",
    ),
    "tdpr.report.tables.x__metric_formats__mutmut_9": (
        "spec.get(c, (3, BOLD_LOWER))[1]",
        "the best-direction part of the default is read, not its decimals",
    ),
    "tdpr.report.tables.x__text_rows__mutmut_8": (
        "if len(key) >= 1 and key[0] == previous:",
        "a one-level index here never repeats a label (systems are unique in Table 1)",
    ),
    "tdpr.report.tables.x__cutoff_means__mutmut_21": (
        "means = means.reindex(columns=None)",
        "table1 orders the cutoff columns as given itself (tested with a reversed order)",
    ),
    "tdpr.report.tables.x_alters_band__mutmut_2": (
        'metrics = metrics if ("system" in metrics) and False else _tidy(metrics)',
        "tidying tidy metrics again changes nothing",
    ),
    "tdpr.report.tables.x_alters_band__mutmut_4": (
        'metrics = metrics if "XXsystemXX" in metrics else _tidy(metrics)',
        "tidying tidy metrics again changes nothing",
    ),
    "tdpr.report.tables.x_alters_band__mutmut_5": (
        'metrics = metrics if "SYSTEM" in metrics else _tidy(metrics)',
        "tidying tidy metrics again changes nothing",
    ),
    "tdpr.report.tables.x_alters_band__mutmut_6": (
        'metrics = metrics if "system" not in metrics else _tidy(metrics)',
        "tidying tidy metrics again changes nothing",
    ),
    "tdpr.report.tables.x_alters_band__mutmut_50": (
        "systems = None",
        "the input compared with itself is never flagged, and the reference has no rows of its"
        " own metrics",
    ),
    "tdpr.report.tables.x_alters_band__mutmut_53": (
        "split_system(k)[1] not in (INPUT, REFERENCE)",
        "the input compared with itself is never flagged, and the reference has no rows of its"
        " own metrics",
    ),
    "tdpr.report.tables.x_alters_band__mutmut_57": (
        "lf_up = lf.reindex(None) - lf.loc[INPUT] > BAND_LSD_TOLERANCE",
        "the input compared with itself is never flagged, and the reference has no rows of its"
        " own metrics",
    ),
    "tdpr.report.tables.x_alters_band__mutmut_61": (
        "snr_down = snr.loc[INPUT] - snr.reindex(None) > BAND_SNR_TOLERANCE_DB",
        "the input compared with itself is never flagged, and the reference has no rows of its"
        " own metrics",
    ),
    "tdpr.report.tables.x_alters_band__mutmut_58": (
        "lf_up = lf.reindex(systems) - lf.loc[INPUT] >= BAND_LSD_TOLERANCE",
        "differs only at a difference of exactly 0.05",
    ),
    "tdpr.baselines.base.xǁBaselineǁenhance__mutmut_18": (
        "X = stft(torch.from_numpy(x), N_FFT, None).numpy()",
        "torch's default hop, n_fft // 4, is HOP (256)",
    ),
    "tdpr.baselines.base.xǁBaselineǁenhance__mutmut_21": (
        "X = stft(torch.from_numpy(x), N_FFT, ).numpy()",
        "torch's default hop, n_fft // 4, is HOP (256)",
    ),
    "tdpr.baselines.base.xǁBaselineǁenhance__mutmut_35": (
        "z = istft(torch.from_numpy(Z), N_FFT, None, length=len(x)).numpy()",
        "torch's default hop, n_fft // 4, is HOP (256)",
    ),
    "tdpr.baselines.base.xǁBaselineǁenhance__mutmut_39": (
        "z = istft(torch.from_numpy(Z), N_FFT, length=len(x)).numpy()",
        "torch's default hop, n_fft // 4, is HOP (256)",
    ),
    "tdpr.baselines.base.xǁBaselineǁenhance__mutmut_24": (
        "Z = self.high_band(None, X, cutoff_hz, start)",
        "neither baseline's high_band reads the waveform, only its spectrogram",
    ),
    "tdpr.baselines.noisefill.x_hashed_phase__mutmut_1": (
        "with np.errstate(over=None):",
        "errstate only decides whether the wrap-around of uint64 arithmetic warns",
    ),
    "tdpr.baselines.noisefill.x_hashed_phase__mutmut_22": (
        "return (key >> np.uint64(11)).astype(None) * (2 * np.pi / 2**53)",
        "astype(None) gives float64",
    ),
    "tdpr.baselines.spectrum.x_read_spectrum__mutmut_43": (
        'power = 10 ** (np.asarray(body["power_db"], dtype=None) / 10)',
        "JSON numbers become float64 arrays either way",
    ),
    "tdpr.baselines.spectrum.x_read_spectrum__mutmut_45": (
        'power = 10 ** (np.asarray(body["power_db"], ) / 10)',
        "JSON numbers become float64 arrays either way",
    ),
    "tdpr.baselines.spectrum.xǁMeanSpectrumǁ__post_init____mutmut_8": (
        "if power.shape != (self.n_fft / 2 + 1,):",
        "n_fft is even: (n/2 + 1,) equals (n//2 + 1,) as a shape",
    ),
    "tdpr.train.losses.x__float32__mutmut_1": (
        "return x if (x.dtype == torch.float32) and False else x.float()",
        "Tensor.float() of a float32 tensor returns that very tensor",
    ),
    "tdpr.baselines.base.x_highpass__mutmut_15": (
        'signal.butter(HIGHPASS_ORDER, edge, "HIGHPASS", fs=SAMPLE_RATE, output="sos")',
        "scipy lower-cases btype",
    ),
    "tdpr.baselines.base.x_highpass__mutmut_17": (
        'signal.butter(HIGHPASS_ORDER, edge, "highpass", fs=SAMPLE_RATE, output="SOS")',
        "scipy lower-cases output",
    ),
}

#: Survivors that behave the same on a CPU, the only device of the fast tier, and differ on a
#: CUDA device (tensors or modules left on the CPU, pinned memory): name -> (mutated line, what a
#: GPU would show). They are counted apart ("GPU only"), out of the killed share: the cuda tier
#: (tests/train/test_cuda.py, tests/baselines/test_noisefill.py) runs on a GPU machine only.
GPU_ONLY: dict[str, tuple[str, str]] = {
    "tdpr.train.steps.xǁRegressionTaskǁ_estimate__mutmut_5": (
        "autocast = torch.autocast(self.device.type, dtype=None) if self.bf16 else None",
        "autocast's default dtype is bfloat16 on a CPU (float16 on CUDA, where the forward would"
        " run in float16)",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ_estimate__mutmut_7": (
        "autocast = torch.autocast(self.device.type, ) if self.bf16 else None",
        "autocast's default dtype is bfloat16 on a CPU (float16 on CUDA, where the forward would"
        " run in float16)",
    ),
    "tdpr.metrics.context.x_prepare__mutmut_3": (
        "x if (torch.is_tensor(x)) and False else torch.from_numpy(np.ascontiguousarray(x))",
        "a CPU tensor goes through NumPy unchanged; a CUDA tensor cannot",
    ),
    "tdpr.metrics.context.x_prepare__mutmut_5": (
        "x if torch.is_tensor(None) else torch.from_numpy(np.ascontiguousarray(x))",
        "a CPU tensor goes through NumPy unchanged; a CUDA tensor cannot",
    ),
    "tdpr.metrics.plausibility.x__masked_w1__mutmut_3": (
        "return torch.tensor(math.nan, device=None, dtype=dev_ref.dtype)",
        "the NaN of a CUDA batch would be made on the CPU, and stacking it with the others fails",
    ),
    "tdpr.metrics.plausibility.x__masked_w1__mutmut_6": (
        "return torch.tensor(math.nan, dtype=dev_ref.dtype)",
        "the NaN of a CUDA batch would be made on the CPU, and stacking it with the others fails",
    ),
    "tdpr.baselines.base.xǁBaselineǁforward__mutmut_14": (
        "data = x.detach().to(None, torch.float64).numpy()",
        "a CUDA input would stay on the GPU, where .numpy() fails",
    ),
    "tdpr.baselines.base.xǁBaselineǁforward__mutmut_29": (
        "return torch.from_numpy(out).to(None, torch.float32)",
        "the output of a CUDA input would come back on the CPU"
        " (tests/baselines/test_noisefill.py::test_a_cuda_input_comes_back_on_cuda)",
    ),
    "tdpr.baselines.base.xǁBaselineǁforward__mutmut_31": (
        "return torch.from_numpy(out).to(torch.float32)",
        "the output of a CUDA input would come back on the CPU"
        " (tests/baselines/test_noisefill.py::test_a_cuda_input_comes_back_on_cuda)",
    ),
    "tdpr.baselines.base.xǁBaselineǁforward__mutmut_16": (
        "data = x.detach().to(torch.float64).numpy()",
        "a CUDA input needs .to('cpu') before .numpy()"
        " (tests/baselines/test_noisefill.py::test_a_cuda_input_comes_back_on_cuda)",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ__init____mutmut_5": (
        "self.model, self.loss_fn = model.to(None), loss_fn.to(self.device)",
        "the model would stay on the CPU while its batches go to the GPU",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ__init____mutmut_6": (
        "self.model, self.loss_fn = model.to(self.device), loss_fn.to(None)",
        "the loss's STFT window would stay on the CPU",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ_estimate__mutmut_11": (
        "return (forward or self.forward)(degraded.to(None, non_blocking=True))",
        "the batch would stay on the CPU, the model on the GPU",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁ_estimate__mutmut_13": (
        "return (forward or self.forward)(degraded.to(non_blocking=True))",
        "the batch would stay on the CPU, the model on the GPU",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁstep__mutmut_3": (
        "clean = clean.to(None, non_blocking=True)",
        "the target would stay on the CPU, the estimate on the GPU",
    ),
    "tdpr.train.steps.xǁRegressionTaskǁstep__mutmut_5": (
        "clean = clean.to(non_blocking=True)",
        "the target would stay on the CPU, the estimate on the GPU",
    ),
    "tdpr.train.steps.xǁGANTaskǁ__init____mutmut_7": (
        'self.generator = build_model("tfgan", **arch).to(None)',
        "the generator would stay on the CPU",
    ),
    "tdpr.train.steps.xǁGANTaskǁ__init____mutmut_14": (
        'self.msd = MultiScaleDiscriminator(**disc.get("msd", {})).to(None)',
        "a discriminator would stay on the CPU",
    ),
    "tdpr.train.steps.xǁGANTaskǁ__init____mutmut_22": (
        'self.fd = FrequencyDiscriminator(**disc.get("fd", {})).to(None)',
        "a discriminator would stay on the CPU",
    ),
    "tdpr.train.steps.xǁGANTaskǁ__init____mutmut_45": (
        "self.loss = GeneratorLoss().to(None)",
        "the loss's STFT windows would stay on the CPU",
    ),
    "tdpr.train.steps.xǁGANTaskǁstep__mutmut_17": (
        "clean.to(None, non_blocking=True),",
        "the batch would stay on the CPU, the models on the GPU",
    ),
    "tdpr.train.steps.xǁGANTaskǁstep__mutmut_19": (
        "clean.to(non_blocking=True),",
        "the batch would stay on the CPU, the models on the GPU",
    ),
}

KILLED = ("killed", "caught by type check")
#: A mutant that only changes the text of a message raised or logged by these is not run but
#: counted apart ("message"): it cannot change a number, and a test pinning every
#: message's wording would be a copy of the code, not a check of it.
LOG_METHODS = ("debug", "info", "warning", "error", "exception", "critical", "warn")


@dataclass
class Survivor:
    name: str
    function: str
    status: str
    diff: list[str]
    #: None (a hole in the suite) or "equivalent: <reason>".
    verdict: str | None = None


@dataclass
class ModuleResult:
    module: str
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[Survivor] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    message: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    #: Wall seconds spent before the first mutant: copying, listing tests, the clean runs.
    setup_s: float = 0.0
    #: Mutants killed in the run given to ``--rerun-survivors``, counted without running again.
    carried: int = 0

    @property
    def tested(self) -> int:
        return sum(self.counts.values())

    @property
    def equivalent(self) -> int:
        return sum((s.verdict or "").startswith("equivalent") for s in self.survivors)

    @property
    def gpu_only(self) -> int:
        return sum((s.verdict or "").startswith("GPU only") for s in self.survivors)

    @property
    def share(self) -> float:
        """Killed (timeouts included) over the mutants that are neither equivalent nor told
        apart only on a GPU."""
        killed = sum(self.counts.get(k, 0) for k in (*KILLED, "timeout"))
        return killed / max(1, self.tested - self.equivalent - self.gpu_only)

    def full_estimate_s(self) -> float:
        """Wall time of an unlimited run: the fixed overhead plus the mean mutant's time."""
        run = self.tested - self.carried
        if not run:
            return 0.0
        per_mutant = (self.wall_s - self.setup_s) / run
        return self.setup_s + per_mutant * self.total


def module_sources(module: str) -> list[Path]:
    """The Python files of a module, relative to the repository root."""
    path = PACKAGE / module
    if module.endswith("/"):
        return sorted(p.relative_to(ROOT) for p in (ROOT / path).rglob("*.py"))
    return [path]


def list_mutants(sources: list[Path]) -> tuple[list[str], int, dict[str, list[str]]]:
    """The mutants mutmut makes of these files, named as ``mutmut run`` names them, leaving out
    those that only reword a message; how many those are; and each mutant's changed lines."""
    from mutmut.mutation.file_mutation import mutate_file_contents
    from mutmut.utils.format_utils import get_mutant_name, mangled_name_from_mutant_name

    names, message, diffs = [], 0, {}
    for path in sources:
        mutated = mutate_file_contents(str(path), (ROOT / path).read_text())
        lines = mutated.code.splitlines()

        def source(function: str, lines=lines, spans=mutated.line_span_by_function_name) -> str:
            span = spans[function]
            return textwrap.dedent("\n".join(lines[span.start - 1 : span.end]))

        for name in mutated.mutant_names:
            orig = source(mangled_name_from_mutant_name(name) + "__mutmut_orig")
            if message_only(orig, source(name)):
                message += 1
            else:
                full = get_mutant_name(path, name)
                names.append(full)
                diffs[full] = changed_lines(orig, source(name))
    return names, message, diffs


def registered_verdict(name: str, diff: list[str]) -> str | None:
    """``equivalent: ...`` or ``GPU only: ...`` for a mutant named in those tables whose mutated
    line still matches; None otherwise (a stale entry is run like any mutant)."""
    for table, kind in ((EQUIVALENT, "equivalent"), (GPU_ONLY, "GPU only")):
        if name in table:
            line, reason = table[name]
            if any(line in d for d in diff):  # a "-" entry names a deleted line
                return f"{kind}: {reason}"
    return None


def mutmut_section(sources: list[Path], tests: list[str]) -> str:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    return "\n".join(
        [
            "",
            "[tool.mutmut]",
            'source_paths = ["src"]',
            f"only_mutate = {toml_list([str(p) for p in sources])}",
            f"pytest_add_cli_args_test_selection = {toml_list(tests)}",
            # The unraisable-exception plugin runs five full garbage collections when each
            # mutant's pytest session ends, a third of a quick mutant's time; it only warns.
            f'pytest_add_cli_args = ["-m", "{FAST_TIER}", "-p", "no:cacheprovider", '
            '"-p", "no:unraisableexception"]',
            # torch is not fork-safe once it has run: fork each mutant from a clean server.
            'process_isolation = "forkserver"',
            "use_git_change_detection = false",
            "",
        ]
    )


def prepare_scratch(scratch: Path, sources: list[Path], tests: list[str]) -> None:
    """A copy of src/ and tests/ plus a pyproject.toml that configures mutmut for one module."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "src", scratch / "src", ignore=ignore)
    shutil.copytree(ROOT / "tests", scratch / "tests", ignore=ignore)
    text = (ROOT / "pyproject.toml").read_text()
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    (scratch / "pyproject.toml").write_text(text + mutmut_section(sources, tests))
    # tests/conftest.py finds the shared data two folders above itself: mutants/tests/../..
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (scratch / "shared").symlink_to(shared)


def run_mutmut(
    scratch: Path, names: list[str], max_children: int, threads: int
) -> tuple[float, float]:
    """Run ``mutmut run`` on the named mutants in the scratch copy.

    Returns:
        The CPU seconds it took and the wall seconds before it started on the mutants.
    """
    exe = Path(sys.executable).with_name("mutmut")
    command = [str(exe), "run", "--max-children", str(max_children), *names]
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    # Tests that start a Python subprocess import the mutated package too. The folder must exist
    # before Python starts: a missing one is cached as unimportable, and mutmut puts the same
    # path first on sys.path later.
    (scratch / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    env["PYTHONPATH"] = str(scratch / "mutants" / "src")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start, setup = time.perf_counter(), 0.0
    with open(scratch / "mutmut.log", "w") as log:
        proc = subprocess.Popen(
            command, cwd=scratch, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace",
        )  # fmt: skip
        for line in proc.stdout:
            log.write(line)
            if not setup and "Running mutation testing" in line:
                setup = time.perf_counter() - start
    returncode = proc.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if returncode != 0:
        tail = (scratch / "mutmut.log").read_text(errors="replace").replace("\r", "\n")
        sys.exit(f"mutmut failed (exit {returncode}) in {scratch}:\n{tail[-3000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), setup


@contextlib.contextmanager
def cwd(path: Path):
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def function_sources(scratch: Path, name: str, path: Path) -> tuple[str, str]:
    """The source of the function a mutant changes, before and after."""
    import libcst as cst
    from mutmut.mutation import diff_apply

    with cwd(scratch):
        functions = diff_apply.read_functions_from_index(name, path)
        if functions is None:
            module = diff_apply.read_mutants_module(path)
            functions = (
                diff_apply.read_original_function(module, name),
                diff_apply.read_mutant_function(module, name),
            )
    orig, mutant = (cst.Module([f]).code.strip() for f in functions)
    return orig, mutant


def changed_lines(orig: str, mutant: str) -> list[str]:
    """The removed and added lines of a mutant's diff."""
    diff = difflib.unified_diff(orig.splitlines(), mutant.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


class _Unsaid(ast.NodeTransformer):
    """Drops the arguments of every raised exception and every log call."""

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        if isinstance(node.exc, ast.Call):
            node.exc.args, node.exc.keywords = [], []
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Attribute) and node.func.attr in LOG_METHODS:
            node.args, node.keywords = [], []
        return self.generic_visit(node)


def message_only(orig: str, mutant: str) -> bool:
    """Whether a mutant changes nothing but the message of a raised exception or a log call."""
    before, after = ast.parse(orig), ast.parse(mutant)
    after.body[0].name = before.body[0].name  # the mutant's copy has its own name
    if ast.dump(before) == ast.dump(after):
        return False
    return ast.dump(_Unsaid().visit(before)) == ast.dump(_Unsaid().visit(after))


def collect(scratch: Path, module: str, sources: list[Path], names: list[str]) -> ModuleResult:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    result = ModuleResult(module=module, total=0)
    wanted = set(names)
    for path in sources:
        with cwd(scratch):
            data = SourceFileMutationData(path=path)
            data.load()
        for name, code in sorted(data.exit_code_by_key.items()):
            if name not in wanted:
                continue
            status = status_by_exit_code[code]
            result.counts[status] = result.counts.get(status, 0) + 1
            if status in (*KILLED, "timeout"):
                continue
            function, cls = orig_function_and_class_names_from_key(name)
            diff = changed_lines(*function_sources(scratch, name, path))
            survivor = Survivor(name, f"{cls}.{function}" if cls else function, status, diff)
            survivor.verdict = registered_verdict(name, diff)
            if survivor.verdict is None and (name in EQUIVALENT or name in GPU_ONLY):
                result.stale.append(name)
            result.survivors.append(survivor)
    return result


def previous_codes(kept: Path, sources: list[Path]) -> dict[str, int | None]:
    """Exit codes of every mutant a kept scratch copy (``--keep``) recorded for ``sources``."""
    from mutmut.mutation.data import SourceFileMutationData

    codes: dict[str, int | None] = {}
    for path in sources:
        if not (kept / "mutants" / f"{path}.meta").is_file():
            continue
        with cwd(kept):
            data = SourceFileMutationData(path=path)
            data.load()
        codes.update(data.exit_code_by_key)
    return codes


def scratch_name(module: str) -> str:
    return module.strip("/").replace("/", "_").removesuffix(".py")


def run_module(args: argparse.Namespace, module: str, work: Path) -> ModuleResult:
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    start = time.perf_counter()
    sources = module_sources(module)
    tests = [t for t in MODULES[module] if (ROOT / t).exists()]
    names, message, diffs = list_mutants(sources)
    chosen = names
    if args.limit is not None and args.limit < len(names):
        chosen = sorted(random.Random(SEED).sample(names, args.limit))
    carried: dict[str, int] = {}
    if args.rerun_survivors is not None:
        # Tests are only ever added: a mutant killed before stays killed. Run again what
        # survived (or had no test), and every mutant the earlier run did not know (a changed
        # function renumbers its mutants); carry the rest over.
        before: dict[str, int | None] = {}
        for kept in args.rerun_survivors:  # oldest first: a later run's result replaces
            codes = previous_codes(kept / scratch_name(module), sources)
            before.update({n: c for n, c in codes.items() if c is not None})  # None: not run
        killed = (*KILLED, "timeout")
        carried = {n: before[n] for n in chosen if status_by_exit_code.get(before.get(n)) in killed}
        chosen = [n for n in chosen if n not in carried]
    # Mutants named as equivalent (or GPU only) survive by definition: not run, counted as named.
    named = {n: v for n in chosen if (v := registered_verdict(n, diffs[n])) is not None}
    chosen = [n for n in chosen if n not in named]
    scratch = work / scratch_name(module)
    scratch.mkdir(parents=True)
    prepare_scratch(scratch, sources, tests)
    print(f"{module}: {len(chosen)} of {len(names)} mutants, tests {' '.join(tests)}", flush=True)
    listed = time.perf_counter() - start
    cpu, setup = run_mutmut(scratch, chosen, args.max_children, 1) if chosen else (0.0, 0.0)
    wall = time.perf_counter() - start
    result = collect(scratch, module, sources, chosen) if chosen else ModuleResult(module, 0)
    for name, verdict in named.items():
        function, cls = orig_function_and_class_names_from_key(name)
        survivor = Survivor(name, f"{cls}.{function}" if cls else function, "named", diffs[name])
        survivor.verdict = verdict
        result.survivors.append(survivor)
        result.counts["survived"] = result.counts.get("survived", 0) + 1
    if carried:
        for code in carried.values():
            status = status_by_exit_code[code]
            result.counts[status] = result.counts.get(status, 0) + 1
        result.carried = len(carried)
    result.total, result.message, result.wall_s = len(names), message, wall
    result.cpu_s, result.setup_s = cpu, listed + setup
    return result


def table(results: list[ModuleResult]) -> list[str]:
    head = (
        "| module | mutants (of) | killed | timeout | survived | no tests | other | message "
        "| equivalent | GPU only | killed share | wall s | CPU s | full run, est. min |"
    )
    rows = [head, "|" + "---|" * 14]
    known = {*KILLED, "timeout", "survived", "no tests"}
    for r in results:
        c = r.counts
        killed = sum(c.get(k, 0) for k in KILLED)
        other = sum(n for k, n in c.items() if k not in known)
        rows.append(
            f"| {r.module} | {r.tested} ({r.total}) | {killed} | {c.get('timeout', 0)} "
            f"| {c.get('survived', 0)} | {c.get('no tests', 0)} | {other} "
            f"| {r.message} | {r.equivalent} | {r.gpu_only} | {100 * r.share:.0f} % "
            f"| {r.wall_s:.0f} | {r.cpu_s:.0f} | "
            + (
                f"rerun of {r.tested - r.carried} |"
                if r.carried
                else f"{r.full_estimate_s() / 60:.0f} |"
            )
        )
    return rows


def survivor_lines(results: list[ModuleResult]) -> list[str]:
    lines = []
    for r in results:
        for s in r.survivors:
            lines.append(f"{r.module} {s.function} ({s.name}) [{s.verdict or s.status}]")
            lines += [f"    {d}" for d in s.diff]
        lines += [f"{r.module} stale EQUIVALENT entry: {name}" for name in r.stale]
    return lines


def markdown(results: list[ModuleResult], argv: list[str]) -> str:
    from importlib.metadata import version

    out = [
        "# Mutation score",
        "",
        f"Command: `python bench/bench_mutation.py {' '.join(argv)}`  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores; mutmut {version('mutmut')}, Python {platform.python_version()}",
        "",
        *table(results),
        "",
        "## Survivors",
        "",
    ]
    for r in results:
        for s in r.survivors:
            out.append(f"- `{r.module}` `{s.function}` (`{s.name}`), {s.verdict or s.status}")
            out += ["", "  ```diff"]
            out += [f"  {d}" for d in s.diff] + ["  ```", ""]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="+", default=list(MODULES), choices=list(MODULES))
    parser.add_argument("--max-children", type=int, default=1, help="mutmut worker processes")
    parser.add_argument("--limit", type=int, help="mutants per module, drawn with a fixed seed")
    parser.add_argument("--out", type=Path, help="write the table and survivors as Markdown")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies")
    parser.add_argument(
        "--rerun-survivors", type=Path, nargs="+", metavar="KEPT",
        help="the folders earlier --keep runs left, oldest first (a whole run, then its "
        "reruns): run only what survived the latest run of each mutant, count killed ones",
    )  # fmt: skip
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tdpr-mutation-"))
    results = []
    try:
        for module in args.modules:
            results.append(run_module(args, module, work))
            print("\n".join(table(results[-1:])[2:]), flush=True)
    finally:
        if args.keep:
            print(f"scratch copies kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(table(results)))
    print("\n".join(survivor_lines(results)) or "no survivors")
    if args.out:
        args.out.write_text(markdown(results, sys.argv[1:]))


if __name__ == "__main__":
    main()
