"""TopoCellGen's topological training losses (CVPR 2025, Eqs. 3-9).

All losses take ``x0_pred`` (the Eq. 2 estimate of the clean layout, with a
gradient) and ``x0_target`` (the real layout), both ``(B, C, H, W)`` on the
model's [-1, 1] scale, and return a scalar tensor that stays in the autograd
graph of ``x0_pred``.

Binarisation (Eq. 3).  ``x01 = (x0 + 1) / 2`` is thresholded per channel with a
straight-through estimator: the forward pass is the hard threshold, the
backward pass the identity.  A plain threshold has zero derivative almost
everywhere, which would make every loss below a constant for the optimiser.
Threshold modes:

* ``"fixed"`` (default): ``x01 > tau`` with ``tau = 0.7``, the value of the
  authors' published code;
* ``"median"``: ``x01 >`` the per-image, per-channel median, as the paper's
  text describes.

The target is a real binary layout and is binarised at 0 on [-1, 1] in both
modes (a median of a mostly empty binary channel would be ambiguous).

Persistence (Eqs. 5-8).  Per channel, the distance transform (distance to the
nearest cell pixel, :mod:`.distance_transform`) of the binarised prediction and
of the target, each divided by its maximum, is filtered by *sublevel* sets as a
cubical complex (gudhi ``CubicalComplex``, pixels as top-dimensional cells).
Sublevel sets of the distance to the cells are unions of growing discs around
the cells, so a ring of cells gives an H1 class born when the ring closes and
dying when its hole fills in.  A superlevel filtration of the same function
would give each single cell its own H1 class (a loop of background around it,
dual to the sublevel components) and see rings only in dimension 0.  Only dimension 1 is
used.  Essential pairs are dropped: in dimension 1 a filtration of a (contractible)
rectangle of pixels has none, and the one essential dimension-0 class is not
part of the loss.

Critical pixels come from gudhi: ``cofaces_of_persistence_pairs`` of a
``CubicalComplex``, or (default, ~100x faster and tested to give the same
diagram) gudhi's dedicated 2-D cubical algorithm run on the ranks of the
filtration values, so that each returned value names one pixel (see
:func:`h1_pairs`).

Each predicted point is matched to a target point or to its projection on the
diagonal by the optimal 2-Wasserstein matching (order 2, Euclidean ground
metric, as ``gudhi.wasserstein.wasserstein_distance(..., order=2,
internal_p=2, matching=True)``), and Eq. 6 sums the squared distances of the
predicted points to their matches.  A predicted point's birth and death are
read from the distance-transform tensor at its critical pixels, so the gradient runs back through the
distance transform and the straight-through binarisation into ``x0_pred``.
Target points left unmatched add a constant and are left out.

The persistence computations are CPU work done in a thread pool (gudhi and
scipy release the GIL); results are gathered in submission order, so the loss
is deterministic.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import gudhi
import numpy as np
import torch
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

from .distance_transform import distance_at, nearest_foreground

__all__ = ["binarize", "count_loss", "intra_loss", "inter_loss", "topo_losses", "h1_pairs", "w2_matching", "LOSS_NAMES"]

LOSS_NAMES = ("count", "intra", "inter")

try:  # gudhi >= 3.10: 2-D cubical persistence in near-linear time (values only)
    from gudhi._pers_cub_low_dim_ext import _persistence_on_rectangle_from_top_cells as _RECTANGLE
except ImportError:  # pragma: no cover - older gudhi: CubicalComplex everywhere
    _RECTANGLE = None
_THRESHOLDS = ("fixed", "median")


# --------------------------------------------------------------------- checks
def _check(x0_pred: torch.Tensor, x0_target: torch.Tensor, threshold: str, tau: float) -> None:
    if x0_pred.dim() != 4:
        raise ValueError(f"losses: x0_pred must be (B, C, H, W), got shape {tuple(x0_pred.shape)}")
    if x0_pred.shape != x0_target.shape:
        raise ValueError(
            f"losses: x0_pred {tuple(x0_pred.shape)} and x0_target {tuple(x0_target.shape)} differ in shape"
        )
    if threshold not in _THRESHOLDS:
        raise ValueError(f"losses: threshold must be one of {_THRESHOLDS}, got {threshold!r}")
    if threshold == "fixed" and not 0.0 < float(tau) < 1.0:
        raise ValueError(f"losses: tau must lie in (0, 1) on the [0, 1] scale, got {tau}")


def _check_window(window):
    if window is None:
        return None
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window <= 0:
        raise ValueError(f"losses: window must be null or a positive int, got {window!r}")
    return int(window)


# -------------------------------------------------------------- binarisation
def binarize(
    x0: torch.Tensor, *, threshold: str = "fixed", tau: float = 0.7, straight_through: bool = True
) -> torch.Tensor:
    """Per-channel binarisation of a [-1, 1] layout (Eq. 3).

    Forward: ``1`` where ``(x0 + 1) / 2`` exceeds the threshold, else ``0``.
    Backward with ``straight_through``: the identity with respect to
    ``(x0 + 1) / 2``.  ``straight_through=False`` is the plain hard threshold
    (derivative zero), kept to show in the tests why the estimator is needed.
    """
    x01 = (x0.float() + 1.0) * 0.5
    if threshold == "median":
        thr = x01.detach().flatten(-2).median(dim=-1).values[..., None, None]
    elif threshold == "fixed":
        thr = float(tau)
    else:
        raise ValueError(f"binarize: threshold must be one of {_THRESHOLDS}, got {threshold!r}")
    if not straight_through:
        return torch.sign(x01 - thr).clamp(min=0.0)
    hard = (x01.detach() > thr).to(x01.dtype)
    return hard + (x01 - x01.detach())


def _target_mask(x0_target: torch.Tensor) -> torch.Tensor:
    return (x0_target.detach().float() > 0.0).float()


# ----------------------------------------------------------------- L_count
def count_loss(
    x0_pred: torch.Tensor,
    x0_target: torch.Tensor,
    *,
    threshold: str = "fixed",
    tau: float = 0.7,
    delta: float = 9.0,
    straight_through: bool = True,
) -> torch.Tensor:
    """L_count (Eqs. 3-4): mean over batch and classes of |count_pred - count_target|.

    A channel's count is its foreground pixel sum divided by ``delta`` (the
    area of one 3x3 cell).  Counts stay tensors so the straight-through
    gradient reaches every pixel of ``x0_pred``.
    """
    _check(x0_pred, x0_target, threshold, tau)
    if delta <= 0:
        raise ValueError(f"count_loss: delta must be positive, got {delta}")
    pred = binarize(x0_pred, threshold=threshold, tau=tau, straight_through=straight_through)
    count_pred = pred.sum(dim=(-2, -1)) / delta
    count_target = _target_mask(x0_target).to(pred.device).sum(dim=(-2, -1)) / delta
    return (count_pred - count_target).abs().mean()


# ------------------------------------------------------- persistence pieces
def _h1_diagram_cubical(f: np.ndarray) -> np.ndarray:
    """H1 diagram of the sublevel filtration of ``f`` (pixels as top cells)."""
    if _RECTANGLE is not None and f.shape[0] > 2 and f.shape[1] > 2:
        return np.asarray(_RECTANGLE(np.ascontiguousarray(f, dtype=np.float64), 0.0)[1]).reshape(-1, 2)
    cc = gudhi.CubicalComplex(top_dimensional_cells=f)
    cc.compute_persistence()
    return np.asarray(cc.persistence_intervals_in_dimension(1)).reshape(-1, 2)


def h1_pairs(f: np.ndarray, *, backend: str = "auto") -> np.ndarray:
    """Critical pixels of the finite H1 pairs of the sublevel filtration of ``f``.

    ``f``: 2-D array, pixels as top-dimensional cells.  Returns an ``(k, 2)``
    int64 array of C-order flat indices (birth pixel, death pixel);
    ``f.ravel()[pairs]`` is gudhi's H1 diagram of ``f`` (pairs of zero
    persistence left out, as gudhi does).

    ``backend="cofaces"``: gudhi ``CubicalComplex`` and
    ``cofaces_of_persistence_pairs``.  ``"rank"``: the same complex, solved
    ~100x faster by gudhi's dedicated 2-D algorithm (the one behind
    ``gudhi.sklearn.CubicalPersistence``), which returns values only; it is run
    on the *ranks* of ``f`` (ties broken by pixel index), so every value names
    exactly one pixel, and the pairs are read back through the ranks.  Breaking
    ties is harmless: it refines the filtration order, and pairs that it makes
    out of equal values have zero persistence in ``f`` and are dropped.
    ``"auto"``: ``"rank"`` when gudhi has that algorithm, else ``"cofaces"``.
    """
    if f.ndim != 2:
        raise ValueError(f"h1_pairs: expected a 2-D array, got shape {f.shape}")
    if backend == "auto":
        backend = "rank" if _RECTANGLE is not None else "cofaces"
    flat = f.ravel()
    if backend == "rank":
        order = np.argsort(flat, kind="stable")
        rank = np.empty(flat.size, dtype=np.float64)
        rank[order] = np.arange(flat.size, dtype=np.float64)
        dgm = _h1_diagram_cubical(rank.reshape(f.shape))
        dgm = dgm[np.isfinite(dgm).all(axis=1)]
        pairs = order[dgm.astype(np.int64)]
    elif backend == "cofaces":
        cc = gudhi.CubicalComplex(top_dimensional_cells=f)
        cc.compute_persistence()
        regular, _essential = cc.cofaces_of_persistence_pairs()
        if len(regular) < 2 or len(regular[1]) == 0:
            return np.zeros((0, 2), dtype=np.int64)
        # gudhi numbers the cells in Fortran order
        r, c = np.unravel_index(np.asarray(regular[1], dtype=np.int64), f.shape, order="F")
        pairs = r * f.shape[1] + c
    else:
        raise ValueError(f"h1_pairs: backend must be auto, rank or cofaces, got {backend!r}")
    pairs = pairs.reshape(-1, 2).astype(np.int64)
    return pairs[flat[pairs[:, 1]] > flat[pairs[:, 0]]]


def w2_matching(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Optimal order-2 Wasserstein matching with Euclidean ground metric.

    ``pred`` ``(n, 2)`` and ``target`` ``(m, 2)`` finite diagrams.  Returns
    ``(cost, match)``: ``cost`` is the squared W2 distance (the sum of squared
    matched distances, unmatched points of both diagrams paying their squared
    distance ``(death - birth)^2 / 2`` to the diagonal) and ``match[i]`` the
    index of the target point matched to ``pred[i]``, or ``-1`` for the
    diagonal; the same matching as ``gudhi.wasserstein.wasserstein_distance(
    pred, target, matching=True, order=2, internal_p=2)`` (tested).

    Matching ``p`` to ``t`` rather than sending both to the diagonal pays off
    only when ``|p - t|^2 < diag(p) + diag(t)``, which needs ``|p - t|`` below
    ``sqrt(2 diag(p))`` or ``sqrt(2 diag(t))``: k-d tree ball queries with
    each point's own radius list these candidate pairs, and the usual
    assignment problem (points may go to the diagonal) is solved exactly on
    the points they involve, as a rectangular assignment with the smaller
    side as rows (scipy's ``linear_sum_assignment``), or, when both sides are
    large, on the sparse augmented graph they span (LAPJVsp, scipy's
    ``min_weight_full_bipartite_matching``), never on the dense
    ``(n + m)``-square matrix.  Where the optimum is not unique (repeated
    points), another optimal matching of the same cost may be returned.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 2)
    target = np.asarray(target, dtype=np.float64).reshape(-1, 2)
    n, m = len(pred), len(target)
    diag_p = 0.5 * (pred[:, 1] - pred[:, 0]) ** 2
    diag_t = 0.5 * (target[:, 1] - target[:, 0]) ** 2
    match = np.full(n, -1, dtype=np.int64)
    total = float(diag_p.sum() + diag_t.sum())
    if n == 0 or m == 0:
        return total, match

    # gain < 0 needs |p - t|^2 < diag(p) + diag(t) <= 2 max(diag(p), diag(t)):
    # two ball queries with each point's own radius find every candidate pair
    # without forming the dense n x m matrix
    def pairs_within(a, b, radius):
        near = cKDTree(b).query_ball_point(a, radius, return_sorted=False)
        sizes = np.fromiter(map(len, near), dtype=np.int64, count=len(a))
        flat = (
            np.concatenate([np.asarray(v, dtype=np.int64) for v in near])
            if sizes.sum()
            else np.zeros(0, dtype=np.int64)
        )
        return np.repeat(np.arange(len(a)), sizes), flat

    r1, c1 = pairs_within(pred, target, np.sqrt(2.0 * diag_p))
    c2, r2 = pairs_within(target, pred, np.sqrt(2.0 * diag_t))
    key = np.unique(np.concatenate([r1 * m + c1, r2 * m + c2]))
    rows, cols = np.divmod(key, m)
    sq = ((pred[rows] - target[cols]) ** 2).sum(-1)
    keep = sq < diag_p[rows] + diag_t[cols]
    rows, cols, sq = rows[keep], cols[keep], sq[keep]
    if len(rows) == 0:
        return total, match
    up, ut = np.unique(rows), np.unique(cols)
    small = min(len(up), len(ut))
    if small * (len(up) + len(ut)) <= _DENSE_ENTRIES:
        match = _rectangular_matching(pred, target, diag_p, diag_t, rows, cols, sq, up, ut)
    else:
        match = _sparse_matching(n, m, diag_p, diag_t, rows, cols, sq)
    hit = match >= 0
    total = float(
        ((pred[hit] - target[match[hit]]) ** 2).sum() + diag_p[~hit].sum() + np.delete(diag_t, match[hit]).sum()
    )
    return total, match


# Above this many entries of the reduced dense problem, the sparse solver is used.
_DENSE_ENTRIES = 4_000_000


def _rectangular_matching(pred, target, diag_p, diag_t, rows, cols, sq, up, ut) -> np.ndarray:
    """The optimal matching as a rectangular assignment on the points that
    have a candidate partner (every other point goes to the diagonal in any
    optimum).  The smaller side are the rows; each row takes a point of the
    other side or its own diagonal slot, at cost ``|p - t|^2 - diag(other)``
    or ``diag(own)``, so that the assignment cost plus the other side's
    diagonal costs is the W2^2 of the matching.  Its size is (small) x
    (small + large): a garbage prediction with thousands of H1 points against
    a real target with tens stays cheap, where the augmented square problem
    (LAPJVsp) was seen to take minutes."""
    from scipy.optimize import linear_sum_assignment

    pi, ti = np.searchsorted(up, rows), np.searchsorted(ut, cols)
    pred_rows = len(up) <= len(ut)
    a, b = (len(up), len(ut)) if pred_rows else (len(ut), len(up))
    r_idx, c_idx = (pi, ti) if pred_rows else (ti, pi)
    own = diag_p[up] if pred_rows else diag_t[ut]
    other = diag_t[ut] if pred_rows else diag_p[up]
    cost = np.full((a, b + a), np.inf)
    cost[r_idx, c_idx] = sq - other[c_idx]
    cost[np.arange(a), b + np.arange(a)] = own
    rr, cc = linear_sum_assignment(cost)
    real = cc < b
    match = np.full(len(pred), -1, dtype=np.int64)
    if pred_rows:
        match[up[rr[real]]] = ut[cc[real]]
    else:
        match[up[cc[real]]] = ut[rr[real]]
    return match


def _sparse_matching(n, m, diag_p, diag_t, rows, cols, sq) -> np.ndarray:
    """The optimal matching on the sparse augmented graph (LAPJVsp)."""
    # Sparse augmented graph: rows = predicted points + diagonal copies of the
    # target points, columns = target points + diagonal copies of the
    # predicted points.  The zero-cost copy-to-copy edges are needed only for
    # candidate pairs (a pair matched in the solution frees exactly those two
    # copies), so the graph stays sparse.  A constant added to every edge
    # leaves the optimum unchanged and keeps the zero-cost edges stored.
    R = np.concatenate([rows, np.arange(n), n + np.arange(m), n + cols])
    C = np.concatenate([cols, m + np.arange(n), np.arange(m), m + rows])
    V = np.concatenate([sq, diag_p, diag_t, np.zeros(len(rows))]) + 1.0
    r, c = min_weight_full_bipartite_matching(csr_matrix((V, (R, C)), shape=(n + m, m + n)))
    real = (r < n) & (c < m)
    match = np.full(n, -1, dtype=np.int64)
    match[r[real]] = c[real]
    return match


def _normalised_dt(mask: np.ndarray) -> np.ndarray | None:
    """Distance to the nearest foreground pixel divided by its maximum, or
    ``None`` when there is no foreground or no background (no H1 possible)."""
    if not mask.any() or mask.all():
        return None
    d = ndimage.distance_transform_edt(~mask)
    return d / d.max()


def _windows(H: int, W: int, window: int | None) -> list[tuple[int, int, int, int]]:
    if window is None:
        return [(0, H, 0, W)]
    return [(r, min(r + window, H), c, min(c + window, W)) for r in range(0, H, window) for c in range(0, W, window)]


def _window_job(pred_mask, tgt_mask, n, box, W):
    """Everything numpy for one image window: the exact EDT of the prediction,
    both H1 diagrams and their matching.

    Returns ``None`` when the prediction has no H1 point there, else a dict of
    per-point arrays: ``pix`` ``(k, 3)`` image-stack flat indices of the birth
    pixel, the death pixel and the window's maximum-distance pixel (the
    normaliser), ``near`` their nearest foreground pixels, ``d0`` their exact
    distances, and ``goal`` ``(k, 2)`` the (birth, death) each point is pulled
    to: its matched target point or its diagonal projection."""
    r0, r1, c0, c1 = box
    pm = pred_mask[n, r0:r1, c0:c1]
    ww = c1 - c0
    if not pm.any() or pm.all():  # no cell or no gap: no H1 class
        return None
    d0, q = nearest_foreground(pm)
    top = int(np.argmax(d0))
    f_pred = d0 / d0.ravel()[top]
    pairs = h1_pairs(f_pred)
    if len(pairs) == 0:
        return None
    dgm_pred = f_pred.ravel()[pairs]
    f_tgt = _normalised_dt(tgt_mask[n, r0:r1, c0:c1])
    if f_tgt is None:
        dgm_tgt = np.zeros((0, 2))
    else:
        dgm_tgt = _h1_diagram_cubical(f_tgt)
        dgm_tgt = dgm_tgt[dgm_tgt[:, 1] > dgm_tgt[:, 0]]
    _, match = w2_matching(dgm_pred, dgm_tgt)
    goal = np.repeat(dgm_pred.mean(axis=1, keepdims=True), 2, axis=1)  # diagonal projections
    hit = match >= 0
    goal[hit] = dgm_tgt[match[hit]]

    def glob(local):  # window-local flat index -> image-global flat index
        r, c = np.divmod(local, ww)
        return (r + r0) * W + (c + c0) + n * (pred_mask.shape[1] * W)

    d0f, qf = d0.ravel(), q.ravel()
    crit = np.concatenate([pairs, np.full((len(pairs), 1), top)], axis=1)  # birth, death, max pixel
    return {"pix": glob(crit), "near": glob(qf[crit]), "d0": d0f[crit], "goal": goal}


_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0


def _pool(workers: int | None) -> ThreadPoolExecutor | None:
    global _POOL, _POOL_SIZE
    if workers is None:
        workers = int(os.environ.get("TOPOFD_LOSS_WORKERS", min(16, os.cpu_count() or 1)))
    if workers <= 1:
        return None
    if _POOL is None or _POOL_SIZE != workers:
        if _POOL is not None:
            _POOL.shutdown(wait=True)
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="topo-loss")
        _POOL_SIZE = workers
    return _POOL


def _diagram_loss_sum(pred_bin: torch.Tensor, tgt_bin: torch.Tensor, window, workers) -> torch.Tensor:
    """Eq. 6 summed over images ``(N, H, W)`` and windows; a scalar tensor.

    The CPU jobs return, per predicted point, its birth and death pixels and
    the window's maximum pixel; the transform is then evaluated (with its
    gradient) at those pixels only: ``f = D(pixel) / D(max pixel)``."""
    N, H, W = pred_bin.shape
    window = _check_window(window)
    boxes = _windows(H, W, window)
    pred_mask = (pred_bin.detach() > 0.5).cpu().numpy()
    tgt_mask = (tgt_bin.detach() > 0.5).cpu().numpy()
    jobs = [(n, box) for n in range(N) for box in boxes]
    pool = _pool(workers)

    def run(j):
        return _window_job(pred_mask, tgt_mask, j[0], j[1], W)

    results = [
        r
        for r in (list(pool.map(run, jobs)) if pool is not None and len(jobs) > 1 else [run(j) for j in jobs])
        if r is not None
    ]
    m = pred_bin.reshape(-1).float()
    if not results:
        return m.sum() * 0.0  # zero, but still part of the graph
    pix = torch.from_numpy(np.concatenate([r["pix"] for r in results]))
    near = torch.from_numpy(np.concatenate([r["near"] for r in results]))
    d0 = torch.from_numpy(np.concatenate([r["d0"] for r in results]))
    goal = torch.from_numpy(np.concatenate([r["goal"] for r in results])).to(device=m.device, dtype=m.dtype)
    d = distance_at(m, pix.reshape(-1), near.reshape(-1), d0.reshape(-1)).reshape(-1, 3)
    f = d[:, :2] / d[:, 2:].clamp_min(1e-12)  # each window's transform scaled to [0, 1]
    return ((f - goal) ** 2).sum()


# --------------------------------------------------------- L_intra, L_inter
def intra_loss(
    x0_pred: torch.Tensor,
    x0_target: torch.Tensor,
    *,
    threshold: str = "fixed",
    tau: float = 0.7,
    window: int | None = None,
    workers: int | None = None,
    straight_through: bool = True,
) -> torch.Tensor:
    """L_intra (Eqs. 5-7): per-channel persistence loss, mean over channels and batch.

    ``window``: ``None`` scores each channel whole; an int scores
    non-overlapping ``window x window`` tiles (edge tiles smaller) separately
    and sums them, as the published code's 100x100 windows.  ``workers``:
    threads for the persistence computations (default: ``TOPOFD_LOSS_WORKERS``
    or the CPU count, at most 16).
    """
    _check(x0_pred, x0_target, threshold, tau)
    B, C, H, W = x0_pred.shape
    pred = binarize(x0_pred, threshold=threshold, tau=tau, straight_through=straight_through)
    tgt = _target_mask(x0_target)
    total = _diagram_loss_sum(pred.reshape(B * C, H, W), tgt.reshape(B * C, H, W), window, workers)
    return total / (B * C)


def inter_loss(
    x0_pred: torch.Tensor,
    x0_target: torch.Tensor,
    *,
    threshold: str = "fixed",
    tau: float = 0.7,
    window: int | None = None,
    workers: int | None = None,
    straight_through: bool = True,
) -> torch.Tensor:
    """L_inter (Eq. 8): the persistence loss of the aggregate layout (the
    channel-wise maximum of the binarised channels), mean over the batch."""
    _check(x0_pred, x0_target, threshold, tau)
    B, C, H, W = x0_pred.shape
    pred = binarize(x0_pred, threshold=threshold, tau=tau, straight_through=straight_through)
    agg_pred = pred.amax(dim=1)
    agg_tgt = _target_mask(x0_target).amax(dim=1)
    return _diagram_loss_sum(agg_pred, agg_tgt, window, workers) / B


def topo_losses(x0_pred: torch.Tensor, x0_target: torch.Tensor, cfg_losses: dict) -> dict[str, torch.Tensor]:
    """The unweighted topological terms whose weight ``lambda_<name>`` is > 0.

    ``cfg_losses`` is a config's ``losses:`` section (``lambda_count``,
    ``lambda_intra``, ``lambda_inter``, ``threshold``, ``tau``, ``window``,
    optionally ``delta`` and ``workers``).  The caller adds
    ``sum(cfg["lambda_" + k] * v)`` to L_simple (Eq. 9).
    """
    if not isinstance(cfg_losses, dict):
        raise ValueError("topo_losses: the losses config must be a mapping")
    unknown = set(cfg_losses) - {
        "lambda_count",
        "lambda_intra",
        "lambda_inter",
        "threshold",
        "tau",
        "window",
        "delta",
        "workers",
    }
    if unknown:
        raise ValueError(f"topo_losses: unknown losses option(s) {', '.join(sorted(unknown))}")
    threshold = cfg_losses.get("threshold", "fixed")
    tau = cfg_losses.get("tau", 0.7)
    window = cfg_losses.get("window")
    workers = cfg_losses.get("workers")
    out: dict[str, torch.Tensor] = {}
    if float(cfg_losses.get("lambda_count", 0.0)) > 0:
        out["count"] = count_loss(
            x0_pred, x0_target, threshold=threshold, tau=tau, delta=float(cfg_losses.get("delta", 9.0))
        )
    if float(cfg_losses.get("lambda_intra", 0.0)) > 0:
        out["intra"] = intra_loss(x0_pred, x0_target, threshold=threshold, tau=tau, window=window, workers=workers)
    if float(cfg_losses.get("lambda_inter", 0.0)) > 0:
        out["inter"] = inter_loss(x0_pred, x0_target, threshold=threshold, tau=tau, window=window, workers=workers)
    return out
