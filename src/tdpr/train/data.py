"""Training and validation examples: random crops of clean clips, degraded on the fly.

An item is a pair ``(degraded, clean)`` of float32 tensors ``(1, T)``, ``T = crop_samples``.
Clips are read lazily: each item reads only its crop's frames from disk (``soundfile`` partial
reads), so memory never holds the dataset. The degraded half is rounded to 16-bit PCM steps
(``pcm16=True``, the default), as the stored test inputs are; with ``degrade=False`` (the
vocoder, which trains on clean audio) no degradation is computed and both halves are the clean
crop.

**Seeding.** Every random draw comes from a generator built from the seed and the item's
coordinates, never from a generator that advances as items are produced:

* the order of epoch ``e`` is a permutation drawn from ``SeedSequence(seed, spawn_key=(0, e))``
  (of the clips, or of the ``(clip, span)`` pairs when ``crops_per_clip > 1``);
* item ``i`` of epoch ``e`` (its crop offset, filter type, cutoff and order) from
  ``SeedSequence(seed, spawn_key=(1, e, i))``;
* the validation subset from ``SeedSequence(seed, spawn_key=(2,))`` and its item ``i`` from
  ``SeedSequence(seed, spawn_key=(2, 0, i))``.

So an item is a pure function of ``(seed, epoch, index)``: the data do not depend on the number of
DataLoader workers, on which worker loads which item, on the order items are loaded in, or on
where a resumed run restarts. This is stronger than per-worker seeding (which reproduces a run
only with the same worker count). Stream tags and spawn keys are used instead of entropy lists
such as ``[seed, epoch, i]`` because numpy's SeedSequence ignores trailing zero entropy words
(``[s, e, 0]`` and ``[s, e]`` are the same stream).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import DataLoader, Dataset

from tdpr.audio import quantize_pcm16
from tdpr.data.manifest import clip_paths
from tdpr.dsp.filters import FILTER_TYPES, Degradation, apply_degradation, sample_degradation

logger = logging.getLogger(__name__)

_ORDER, _TRAIN, _VALID = 0, 1, 2  # stream tags of the spawn keys (see the module docstring)


def read_manifest(path: str | os.PathLike) -> list[Path]:
    """Clip paths of a clip manifest (CSV with ``clip_id`` and ``path`` relative to its folder)."""
    return clip_paths(path)


def item_rng(seed: int, *key: int) -> np.random.Generator:
    """The generator of one stream (``key`` = stream tag and coordinates) of ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def make_loader(
    dataset: Dataset, batch_size: int, num_workers: int = 0, pin_memory: bool = False, seed: int = 0
) -> DataLoader:
    """A sequential DataLoader of ``(degraded, clean)`` batches ``(B, 1, T)``.

    No shuffling (the datasets order themselves per epoch), no persistent workers (so each
    epoch's iterator ships the dataset with its current epoch to the workers), and a generator
    of its own for the workers' base seed, so loading never advances the global torch RNG.
    """
    options = loader_options(num_workers, pin_memory, seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, **options)


def loader_options(num_workers: int, pin_memory: bool, seed: int) -> dict[str, Any]:
    """DataLoader arguments shared by every loader of the training (see :func:`make_loader`).

    With workers, each keeps ``prefetch_factor`` (4) batches ready, so a slow item (a long
    filter, a cold file) is hidden behind the ones already loaded.
    """
    options: dict[str, Any] = {
        "num_workers": num_workers,
        "pin_memory": pin_memory,
        "generator": torch.Generator().manual_seed(seed),
        "persistent_workers": False,
    }
    if num_workers > 0:
        options["prefetch_factor"] = 4
    return options


class _CropSource(Dataset):
    """Clips of one sample rate, each at least ``crop_samples`` long, read crop by crop."""

    def __init__(
        self,
        clips: Sequence[str | os.PathLike],
        crop_samples: int,
        seed: int,
        *,
        cutoff_range: tuple[float, float] = (2500.0, 4000.0),
        filters: Sequence[str] = FILTER_TYPES,
        order_range: tuple[int, int] = (6, 10),
        pcm16: bool = True,
        degrade: bool = True,
    ) -> None:
        if crop_samples < 1:
            raise ValueError(f"crop_samples must be positive, got {crop_samples}")
        if not clips:
            raise ValueError("no clips given")
        self.clips = [Path(c) for c in clips]
        self.crop_samples = int(crop_samples)
        self.seed = int(seed)
        self.draw = (tuple(float(c) for c in cutoff_range), tuple(filters), tuple(order_range))
        self.pcm16, self.degrade = bool(pcm16), bool(degrade)
        self.frames, self.sample_rate = self._probe()

    def _probe(self) -> tuple[list[int], int]:
        frames, rates = [], set()
        for clip in self.clips:
            try:
                info = sf.info(str(clip))
            except (sf.LibsndfileError, RuntimeError) as err:
                raise ValueError(f"cannot read clip {clip}: {err}") from err
            if info.frames < self.crop_samples:
                raise ValueError(
                    f"clip {clip} has {info.frames} samples, fewer than the crop of "
                    f"{self.crop_samples} samples ({self.crop_samples / info.samplerate:g} s)"
                )
            frames.append(info.frames)
            rates.add(info.samplerate)
        if len(rates) > 1:
            raise ValueError(f"clips have different sample rates: {sorted(rates)} Hz")
        return frames, rates.pop()

    def _example(
        self, clip: int, rng: np.random.Generator, span: tuple[int, int] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Crop clip ``clip`` at a random offset and degrade it, both drawn from ``rng``.

        The crop starts in ``[lo, hi]`` of ``span`` (default: anywhere in the clip).
        """
        lo, hi = span if span is not None else (0, self.frames[clip] - self.crop_samples)
        start = int(rng.integers(lo, hi + 1))
        clean = self._read(clip, start)
        if not self.degrade:
            clean_t = torch.from_numpy(clean)[None]
            return clean_t, clean_t
        degradation = sample_degradation(rng, *self.draw)
        degraded = apply_degradation(clean, degradation, self.sample_rate)
        if self.pcm16:
            degraded = quantize_pcm16(degraded)
        return torch.from_numpy(degraded)[None], torch.from_numpy(clean)[None]

    def _read(self, clip: int, start: int) -> np.ndarray:
        audio, _ = sf.read(
            str(self.clips[clip]),
            start=start,
            frames=self.crop_samples,
            dtype="float32",
            always_2d=True,
        )
        if audio.shape[0] != self.crop_samples:
            raise ValueError(f"short read from clip {self.clips[clip]} at sample {start}")
        return np.ascontiguousarray(audio.mean(axis=1, dtype=np.float32))


class TrainCropDataset(_CropSource):
    """Item ``i`` of epoch ``e``: a random crop of clip ``perm_e[i]``, randomly degraded.

    One epoch is every clip once (``crops_per_clip = 1``), in an order drawn per epoch. With
    ``crops_per_clip = k > 1`` an epoch is every ``(clip, span)`` pair once: each clip is cut
    into ``k`` equal spans and the crop of span ``j`` starts at a random offset inside it (at
    the span's start when the span is no longer than a crop). Call :meth:`set_epoch` before
    building each epoch's DataLoader iterator (with ``persistent_workers=False`` the workers get
    a fresh copy of the dataset, epoch included). Other arguments as for :class:`ValidDataset`,
    less ``valid_items``.
    """

    def __init__(
        self,
        clips: Sequence[str | os.PathLike],
        crop_samples: int,
        seed: int,
        crops_per_clip: int = 1,
        **draw: Any,
    ) -> None:
        super().__init__(clips, crop_samples, seed, **draw)
        if crops_per_clip < 1:
            raise ValueError(f"crops_per_clip must be positive, got {crops_per_clip}")
        self.crops_per_clip = int(crops_per_clip)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and crops the items follow."""
        self.epoch = int(epoch)
        self.order = item_rng(self.seed, _ORDER, self.epoch).permutation(len(self))

    def __len__(self) -> int:
        return len(self.clips) * self.crops_per_clip

    def span(self, clip: int, part: int) -> tuple[int, int]:
        """First and last allowed crop start of span ``part`` of clip ``clip`` (samples)."""
        frames, k = self.frames[clip], self.crops_per_clip
        lo = min(part * frames // k, frames - self.crop_samples)
        hi = min((part + 1) * frames // k - self.crop_samples, frames - self.crop_samples)
        return lo, max(lo, hi)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = item_rng(self.seed, _TRAIN, self.epoch, int(index))
        if self.crops_per_clip == 1:  # the original reading: keeps its draws bit for bit
            return self._example(int(self.order[index]), rng)
        clip, part = divmod(int(self.order[index]), self.crops_per_clip)
        return self._example(clip, rng, self.span(clip, part))


class ValidDataset(_CropSource):
    """A fixed validation subset: the same crops and degradations every epoch.

    Args:
        clips: clip files (mono or mixed to mono), all of one sample rate.
        crop_samples: crop length ``T``.
        seed: seed of every draw.
        valid_items: size of the subset (all clips when there are fewer).
        cutoff_range, filters, order_range: passed to
            :func:`tdpr.dsp.filters.sample_degradation`.

    Item ``i`` is a crop of the ``i``-th clip of a seeded permutation, at an offset and with a
    degradation drawn from the item's own stream.
    """

    def __init__(
        self,
        clips: Sequence[str | os.PathLike],
        crop_samples: int,
        seed: int,
        valid_items: int = 64,
        **draw: Any,
    ) -> None:
        super().__init__(clips, crop_samples, seed, **draw)
        if valid_items < 1:
            raise ValueError(f"valid_items must be positive, got {valid_items}")
        chosen = item_rng(self.seed, _VALID).permutation(len(self.clips))[:valid_items]
        if len(chosen) < valid_items:
            logger.info("validation uses all %d clips (valid_items=%d)", len(chosen), valid_items)
        self.chosen = [int(c) for c in chosen]

    def __len__(self) -> int:
        return len(self.chosen)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._example(self.chosen[index], item_rng(self.seed, _VALID, 0, int(index)))

    def degradation(self, index: int) -> Degradation:
        """The degradation of item ``index`` (its cutoff is what a baseline needs), replayed from
        the item's own stream exactly as :meth:`__getitem__` draws it."""
        clip = self.chosen[index]
        rng = item_rng(self.seed, _VALID, 0, int(index))
        rng.integers(0, self.frames[clip] - self.crop_samples + 1)  # the crop's start
        return sample_degradation(rng, *self.draw)
