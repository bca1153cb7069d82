"""Systems that need no learning: the bar a learned system has to clear.

Each is a parameter-free ``nn.Module`` with ``needs_cutoff = True``: it is called as
``model(x, cutoff_hz=..., start=...)`` and keeps the input below the cutoff, adding a band above it
that it synthesises from the input and a mean piano spectrum (:mod:`tdpr.baselines.spectrum`):

* :class:`~tdpr.baselines.noisefill.NoiseFill` (``noisefill``): random-phase noise shaped like
  the mean spectrum, at the level of the input's top band;
* :class:`~tdpr.baselines.replicate.Replicate` (``replicate``): the half-band below the cutoff
  copied upward again and again (spectral band replication), shaped by the mean spectrum.

They are registered in :data:`tdpr.registry.MODELS` with kind ``baseline`` and go through the
same inference, phase repair, metrics, tables, figures and listening kit as the TD-CNNs; Table 1
prints bold only where a learned system beats the best of them.
"""

from tdpr.baselines.base import Baseline, load_baseline

__all__ = ["Baseline", "load_baseline"]
