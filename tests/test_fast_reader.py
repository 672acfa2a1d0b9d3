"""The one-pass mask reader (``layout.mask_centres``: foreground pixels only,
components found on them) gives what the image path gives,
``centres_from_mask(as_mask(stack))``: the same centres bit for bit, in the
same order, and the same errors with the same messages."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from topofd.layouts import masks as L


def _stacks(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    for t in range(n):
        C, H, W = int(rng.integers(1, 4)), int(rng.integers(1, 48)), int(rng.integers(1, 48))
        if t % 5 == 0:
            H, W = 32, 40  # sizes where one-byte values are scanned eight at a time
        dens = rng.choice([0.005, 0.02, 0.1, 0.3, 0.7])
        last = t % 2 == 0
        fg = rng.random((H, W, C) if last else (C, H, W)) < dens
        dtype, value = [(np.uint8, 1), (bool, True), (np.int32, 7), (np.float32, 1.0), (np.uint8, 255)][t % 5]
        a = np.where(fg, value, 0).astype(dtype)
        yield np.moveaxis(a, -1, 0) if last else a


@pytest.mark.parametrize("seed", [0, 1])
def test_same_centres_and_labels_as_the_image_path(seed):
    for stack in _stacks(seed):
        ref = L.centres_from_mask(L.as_mask(stack))
        got = L.mask_centres(stack)
        assert len(got) == len(ref)
        for p, q in zip(got, ref):
            assert np.array_equal(p, q)
        pos, values = L._foreground(stack)
        assert np.array_equal(pos, np.flatnonzero(stack != 0))
        if len(pos) and len(pos) * 8 <= stack.size:
            labels, _ = ndimage.label(stack != 0, structure=L._STACK_STRUCTURE)
            assert np.array_equal(L._sparse_labels(pos, stack.shape), labels.ravel()[pos])


def _message(fn):
    try:
        fn()
    except ValueError as e:
        return str(e)
    return None


def test_same_errors_as_the_image_path():
    rng = np.random.default_rng(5)
    for t in range(200):
        C, H, W = 3, 16, 24
        a = (rng.random((H, W, C)) < 0.05).astype(np.int32 if t % 2 else np.float64)
        k, r, c = int(rng.integers(C)), int(rng.integers(H)), int(rng.integers(W))
        a[r, c, k] = [2, 3, 0.5, 1][t % 4]
        stack = np.moveaxis(a, -1, 0)
        want = _message(lambda: L.centres_from_mask(L.as_mask(stack, "f: ")))
        assert _message(lambda: L.mask_centres(stack, "f: ")) == want
