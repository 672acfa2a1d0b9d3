"""Cell centres of binary-mask layout stacks ``(C, H, W)``.

Two paths, the same numbers: :func:`centres_from_mask` labels the whole
image (``scipy.ndimage.label``), :func:`mask_centres` — what
:meth:`topofd.layouts.layout.Layout.from_array` uses — finds the foreground
pixels once and labels them alone (a layout's foreground is a few percent of
its pixels), with the checks of a binary mask and their messages.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["centres_from_mask", "mask_centres", "as_mask"]


# 4-connectivity inside each channel and none across channels, so that a
# single ``ndimage.label`` call labels a whole ``(C, H, W)`` stack exactly as
# one call per channel with scipy's default structure would.
_STACK_STRUCTURE = np.zeros((3, 3, 3), dtype=bool)
_STACK_STRUCTURE[1] = ndimage.generate_binary_structure(2, 1)


def centres_from_mask(stack: np.ndarray) -> list[np.ndarray]:
    """Cell centres of a ``(C, H, W)`` layout stack, per channel.

    The published protocol: connected components of each channel with
    ``scipy.ndimage.label``'s default (4-connected) structure, centre =
    ``scipy.ndimage.center_of_mass`` of the channel's values over each
    component.  Done for all channels and components at once with
    ``np.bincount``, which is what ``center_of_mass`` itself sums with, so the
    centres are the same numbers.
    """
    stack = np.asarray(stack)
    C, H, W = stack.shape
    labels, n = ndimage.label(stack != 0, structure=_STACK_STRUCTURE)
    if n == 0:
        return [np.zeros((0, 2)) for _ in range(C)]
    # only foreground pixels matter; keeping them in scan order keeps every
    # per-label sum in the same order as center_of_mass's dense bincount
    pos = np.flatnonzero(labels)
    return _weighted_centres(pos, labels.ravel()[pos], stack.ravel()[pos].astype(np.float64), n, stack.shape)


def _weighted_centres(pos: np.ndarray, lab: np.ndarray, weights: np.ndarray, n: int, shape) -> list[np.ndarray]:
    """Per channel, the weighted centre of each of the ``n`` components
    (``lab``: 1-based component of each foreground pixel ``pos``, flat index
    into ``shape``), summed with ``np.bincount`` in scan order."""
    C, H, W = shape
    rows = (pos // W) % H
    cols = pos % W
    mass = np.bincount(lab, weights=weights, minlength=n + 1)[1:]
    r = np.bincount(lab, weights=weights * rows, minlength=n + 1)[1:] / mass
    c = np.bincount(lab, weights=weights * cols, minlength=n + 1)[1:] / mass
    channel = np.empty(n, dtype=np.int64)
    channel[lab - 1] = pos // (H * W)
    centres = np.stack([r, c], axis=1)
    return [centres[channel == k] for k in range(C)]


def as_mask(stack: np.ndarray, where: str = "") -> np.ndarray:
    """The foreground of a ``(C, H, W)`` stack read as binary masks (see
    :meth:`Layout.from_array`), as bool; ``ValueError`` if it is not one.

    A 0/1 stack gives the same centres as the bool (the weights of the centre
    of mass are the same ones), so binary inputs keep their published centres.
    """
    if stack.dtype == bool:
        return stack
    fg = stack != 0
    if stack.dtype.kind == "f":
        bad = fg & (stack != 1)
        if bad.any():
            k = int(np.flatnonzero(bad.any(axis=(1, 2)))[0])
            lo, hi = stack[k].min(), stack[k].max()
            raise ValueError(
                f"{where}layout array is not binary (channel {k + 1} has values in [{lo:g}, {hi:g}]); pass a threshold"
            )
        return fg
    top = stack.max(axis=(1, 2))
    # smallest non-zero value per channel (top where the channel is empty)
    low = np.min(stack, axis=(1, 2), where=fg, initial=np.iinfo(stack.dtype).max)
    multi = fg.any(axis=(1, 2)) & (low != top)
    if multi.any():
        k = int(np.flatnonzero(multi)[0])
        n = len(np.unique(stack[k][fg[k]]))
        raise ValueError(
            f"{where}channel {k + 1} holds {n} different non-zero values, so it is not a binary mask: "
            "for instance-label maps pass labels='instance' (--instances), for grey levels a threshold"
        )
    return fg


def _foreground(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero pixels of a ``(C, H, W)`` stack: their flat indices in
    ``(C, H, W)`` scan order (channel by channel, rows, columns) and their
    values, in one pass over the array, in whichever memory order it has (a
    channels-last file is not transposed)."""
    C, H, W = stack.shape
    hwc = np.moveaxis(stack, 0, -1)
    if C > 1 and hwc.flags.c_contiguous:
        flat = hwc.reshape(-1)
        q = _flatnonzero(flat)
        pos = (q % C) * (H * W) + q // C
        order = np.argsort(pos, kind="stable")
        q, pos = q[order], pos[order]
        return pos, flat[q]
    flat = np.ascontiguousarray(stack).reshape(-1)
    pos = _flatnonzero(flat)
    return pos, flat[pos]


def _flatnonzero(flat: np.ndarray) -> np.ndarray:
    """``np.flatnonzero`` of a contiguous 1-D array; one-byte values are
    scanned eight at a time (a layout's foreground is sparse)."""
    if flat.dtype.itemsize != 1 or flat.size % 8 or flat.size < 64:
        return np.flatnonzero(flat)
    words = np.flatnonzero(flat.view(np.uint8).view(np.uint64))
    inner = np.flatnonzero(flat.view(np.uint8).reshape(-1, 8)[words])
    return words[inner // 8] * 8 + inner % 8


def _check_mask_values(stack: np.ndarray, pos: np.ndarray, values: np.ndarray, where: str = "") -> None:
    """:func:`as_mask`'s checks (same errors, same messages) from the
    foreground pixels alone."""
    if stack.dtype == bool or not len(values):
        return
    HW = stack.shape[1] * stack.shape[2]
    if stack.dtype.kind == "f":
        bad = values != 1
        if bad.any():
            k = int(pos[np.argmax(bad)] // HW)
            lo, hi = stack[k].min(), stack[k].max()
            raise ValueError(
                f"{where}layout array is not binary (channel {k + 1} has values in [{lo:g}, {hi:g}]); pass a threshold"
            )
        return
    if values.min() == values.max():
        return
    ch = pos // HW
    bounds = np.searchsorted(ch, np.arange(stack.shape[0] + 1))
    for k in range(stack.shape[0]):
        v = values[bounds[k] : bounds[k + 1]]
        if len(v) and v.min() != v.max():
            n = len(np.unique(v))
            raise ValueError(
                f"{where}channel {k + 1} holds {n} different non-zero values, so it is not a binary mask: "
                "for instance-label maps pass labels='instance' (--instances), for grey levels a threshold"
            )


def _sparse_labels(pos: np.ndarray, shape) -> np.ndarray:
    """Labels ``1..n`` of the 4-connected components (within a channel) of the
    foreground pixels ``pos`` (sorted flat ``(C, H, W)`` indices), numbered by
    first pixel in scan order: ``ndimage.label(stack != 0,
    _STACK_STRUCTURE)[0].ravel()[pos]``, found from the foreground alone."""
    _, H, W = shape
    n = len(pos)
    srcs, dsts = [], []
    for step, ok in ((1, pos % W != W - 1), (W, (pos // W) % H != H - 1)):
        j = np.minimum(np.searchsorted(pos, pos + step), n - 1)
        hit = ok & (pos[j] == pos + step)
        srcs.append(np.flatnonzero(hit))
        dsts.append(j[hit])
    src, dst = np.concatenate(srcs), np.concatenate(dsts)
    # each pixel ends labelled with the smallest index of its component: hook
    # both ends of every edge to the smaller label, then jump to the roots
    lab = np.arange(n)
    while True:
        m = np.minimum(lab[src], lab[dst])
        np.minimum.at(lab, src, m)
        np.minimum.at(lab, dst, m)
        while True:
            up = lab[lab]
            if np.array_equal(up, lab):
                break
            lab = up
        if np.array_equal(lab[src], lab[dst]):
            break
    # the smallest index is the first pixel in scan order: number roots by it
    return np.unique(lab, return_inverse=True)[1].reshape(-1) + 1


def _centres_from_foreground(pos: np.ndarray, values: np.ndarray, shape) -> list[np.ndarray]:
    """:func:`centres_from_mask` from the foreground pixels alone: the same
    components, numbered alike, summed in the same order, so the same
    numbers."""
    C, H, W = shape
    if len(pos) == 0:
        return [np.zeros((0, 2)) for _ in range(C)]
    lab = _sparse_labels(pos, shape)
    # the bool mask's weights, as centres_from_mask(as_mask(...)) has them
    return _weighted_centres(pos, lab, np.ones(len(pos)), int(lab.max()), shape)


def mask_centres(stack: np.ndarray, where: str = "") -> list[np.ndarray]:
    """Cell centres of a ``(C, H, W)`` binary-mask stack with the checks of
    :func:`as_mask`: the same centres and errors as
    ``centres_from_mask(as_mask(stack))``, in about one pass over the
    array (the foreground of a layout is a few percent of its pixels)."""
    pos, values = _foreground(stack)
    _check_mask_values(stack, pos, values, where)
    if len(pos) * 8 > stack.size:  # dense foreground: the image labeller is the faster one
        return centres_from_mask(as_mask(stack, where))
    return _centres_from_foreground(pos, values, stack.shape)
