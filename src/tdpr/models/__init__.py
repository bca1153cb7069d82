"""Building registered models: names (= config keys = wildcard values) to ``nn.Module`` objects.

Every registered model maps a ``(B, 1, T)`` waveform to a ``(B, 1, T)`` waveform for any T ≥ 1
(reference spec Part A4) and offers ``valid_length(T)``, the padded length it computes on. A
config section's keys are the constructor arguments, so ``build_model(name, **section)`` builds it
and :func:`model_arguments` lists what a section may hold. Registering a model is its module plus
one entry of :data:`tdpr.registry.MODELS` (label, colour, kind, ``"module:Class"``); the class is
imported when it is first built.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from tdpr.registry import MODELS, model_entry, resolve

__all__ = ["MODELS", "build_model", "count_parameters", "model_arguments", "model_class"]


def model_class(name: str) -> type[nn.Module]:
    """The class of a registered model (ValueError naming the registered ones otherwise)."""
    return resolve(model_entry(name).target)


def model_arguments(name: str) -> dict[str, Any]:
    """Constructor arguments of a registered model and their defaults.

    Args:
        name: a key of :data:`tdpr.registry.MODELS`.

    Returns:
        ``{argument: default}``, with ``inspect.Parameter.empty`` for required arguments.

    Raises:
        ValueError: ``name`` is not registered.
    """
    signature = inspect.signature(model_class(name).__init__)
    return {
        arg.name: arg.default
        for arg in list(signature.parameters.values())[1:]
        if arg.kind in (arg.POSITIONAL_OR_KEYWORD, arg.KEYWORD_ONLY)
    }


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model from keyword arguments (a config section).

    Args:
        name: a key of :data:`tdpr.registry.MODELS` (``seanet``, ``audiounet``, ``demucs``, ...).
        **kwargs: constructor arguments; anything left out takes the paper-size default.

    Returns:
        The model, in training mode, on the current default device.

    Raises:
        ValueError: ``name`` is not registered, or an argument is not one the model accepts.
    """
    cls = model_class(name)
    accepted = model_arguments(name)
    takes_any = any(
        arg.kind is arg.VAR_KEYWORD for arg in inspect.signature(cls.__init__).parameters.values()
    )
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown and not takes_any:
        raise ValueError(
            f"unknown argument(s) {', '.join(map(repr, unknown))} for model {name!r} "
            f"({cls.__name__}); accepted: {', '.join(accepted)}"
        )
    return cls(**kwargs)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared ones counted once), optionally only those requiring grad."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
