"""Atomic folders: the new one replaces the old as a whole, or nothing changes."""

from __future__ import annotations

import pytest

from tdpr.fsio import atomic_folder


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "weights"
    target.mkdir()
    (target / "old.pt").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(target) as tmp:
        (tmp / "new.pt").write_text("new")
        raise RuntimeError("killed half-way")
    assert [p.name for p in target.iterdir()] == ["old.pt"]
    with atomic_folder(target) as tmp:
        (tmp / "new.pt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.pt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights"]  # no leftovers
