"""The CUDA paths of training and inference (marker ``cuda``; skip without a GPU).

``bench/gpu_check.sh`` runs this tier on the first machine with a GPU: CUDA placement with
pinned memory and non-blocking copies, bf16 autocast and ``torch.compile`` on CUDA, and
enhancement on CUDA against the CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_loop import TINY_SEANET, manifests  # noqa: F401  (the fixture)

from tdpr.enhance import Enhancer
from tdpr.models import build_model
from tdpr.train.checkpoint import load_model
from tdpr.train.run import train_model

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.mark.parametrize("bf16, compile_", [(False, False), (True, True)])
def test_training_on_cuda(manifests, tmp_path, bf16, compile_):  # noqa: F811
    cfg = {"epochs": 2, "batch_size": 2, "crop_seconds": 0.25, "valid_items": 2}
    cfg |= {"bf16": bf16, "compile": compile_}
    out = train_model(
        "seanet", TINY_SEANET, cfg, *manifests, tmp_path / "m.pt", tmp_path / "h.csv",
        tmp_path / "work", device="cuda", num_workers=2,
    )  # fmt: skip
    model = load_model(out)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_enhance_on_cuda_matches_the_cpu():
    torch.manual_seed(0)
    model = build_model("seanet", **TINY_SEANET)
    audio = (0.1 * np.random.default_rng(0).standard_normal(40_000)).astype(np.float32)
    cpu = Enhancer(model, None, "cpu").enhance(audio)
    gpu = Enhancer(model, None, "cuda").enhance(audio)
    np.testing.assert_allclose(gpu, cpu, atol=1e-4)
    bf16 = Enhancer(model, None, "cuda", dtype="bfloat16").enhance(audio)
    assert np.linalg.norm(bf16 - cpu) < 0.05 * np.linalg.norm(cpu)
