"""The streaming metric: ``Evaluator.update(x, real=...)`` as layouts arrive,
``compute()`` once — the one pipeline behind :func:`topofd.compare`.

The state is small and picklable: per layout, its name, content key, cell
counts per class and H1 persistence diagram per class (computed in
``update``, so ``compute`` only summarises).  ``merge`` joins the states of
several workers (e.g. one per GPU rank).

Order: ``compute`` puts each set in name order (stable for equal names), so
the result does not depend on the order of ``update`` calls or merges except
through names; layouts given without a name are named by arrival index
(``0000000``, ``0000001``, …; synthetic ones ``0000000_gen``, …), so the i-th
synthetic layout pairs with the i-th real one for count errors.  The
``paper`` barycenter starts from the first diagram in that order, as the
published script starts from the first file it lists.
"""
from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from topofd.storage.cache import Cache, digest
from topofd.tda.frechet import FrechetTo
from topofd.tda.landscapes import landscapes_on, shared_sampling
from topofd.layouts.layout import Layout, default_class_names
from topofd.metrics.diagram_mmd import median_sigma, mmd2, mmd2_replicates, pair_mask, permutation_p
from topofd.parallel import map_chunks
from topofd.tda.persistence import diagrams as _diagrams
from topofd.output.report import Report
from topofd.metrics.landscape_fd import PROTOCOLS, LandscapeStats, landscape_stats, topofd_from_stats
from topofd.stats.uncertainty import MIN_LAYOUTS, Estimate, Plan, plan, split_halves
from topofd.tda.wasserstein import pairwise_wasserstein

__all__ = ["Evaluator", "METRICS", "COMPLEXES", "layout_key", "stats_key"]

METRICS = ("topofd", "topokd", "mmd", "counts")
COMPLEXES = ("rips", "alpha")
_CACHE_VERSION = 2  # 2: diagrams in gudhi persistence() order


def layout_key(layout: Layout, complex: str = "rips") -> str:
    """Content key of a layout's diagrams: its coordinates and the complex."""
    return digest("dgm", _CACHE_VERSION, complex, *[p.tobytes() for p in layout.points],
                  tuple(len(p) for p in layout.points))


def stats_key(layout_keys: Sequence[str], protocol: str, k: int, n_bins: int, n_layers: int) -> str:
    """Cache key of one class's real-side landscape statistics: the ordered
    layout keys (the barycenter starts from the first diagram) and options."""
    return digest("stats", _CACHE_VERSION, protocol, k, n_bins, n_layers, *layout_keys)


def _diagram_chunk(point_sets, complex):
    # module level and given plain arrays: it travels to worker processes
    return [[_diagrams(p, complex, maxdim=1)[1] for p in pts] for pts in point_sets]


@dataclass
class _Side:
    """One set's per-layout state (names ``None``: named by arrival index)."""

    names: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    diagrams: list = field(default_factory=list)
    classes: tuple | None = None
    origin: str = "default"  # where the class names come from (topofd.layouts.layout.CLASS_ORIGINS)
    shapes: dict = field(default_factory=dict)  # canvas (H, W) -> number of layouts
    extent: tuple | None = None  # largest (row, col) of any cell
    array_shape: tuple | None = None  # canvas of array batches: one per set
    sources: list = field(default_factory=list)

    def __len__(self):
        return len(self.keys)

    def extend(self, other: "_Side") -> None:
        for f in ("names", "keys", "counts", "diagrams", "sources"):
            getattr(self, f).extend(getattr(other, f))
        for k, n in other.shapes.items():
            self.shapes[k] = self.shapes.get(k, 0) + n
        self.extent = _max_extent(self.extent, other.extent)
        self.array_shape = self.array_shape or other.array_shape

    def adopt(self, classes, origin) -> None:
        if self.classes is None:
            self.classes = classes
        self.origin = next(o for o in ("content", "positional", "default") if o in (self.origin, origin))


def _max_extent(a, b):
    if a is None or b is None:
        return a if b is None else b
    return (max(a[0], b[0]), max(a[1], b[1]))


def _extent_of(layouts):
    pts = [p for l in layouts for p in l.points if len(p)]
    return tuple(float(x) for x in np.max([p.max(axis=0) for p in pts], axis=0)) if pts else None


@dataclass
class _View:
    """A set in compute order."""

    names: list
    keys: list
    counts: np.ndarray
    diagrams: list  # [layout][class]

    def cls(self, k: int, idx=None) -> list:
        rows = self.diagrams if idx is None else [self.diagrams[i] for i in idx]
        return [d[k] for d in rows]

    def subset(self, idx) -> "_View":
        idx = list(idx)
        return _View([self.names[i] for i in idx], [self.keys[i] for i in idx], self.counts[idx],
                     [self.diagrams[i] for i in idx])

    def reordered(self, order) -> "_View":
        """The set with its classes in ``order`` (old index per new class)."""
        if order is None:
            return self
        return _View(self.names, self.keys, self.counts[:, order], [[d[k] for k in order] for d in self.diagrams])


def _parse_metrics(metrics) -> tuple[tuple[str, ...], bool]:
    if metrics is None:
        return METRICS, False
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    metrics = tuple(metrics)
    if not metrics:
        raise ValueError("no metrics requested")
    for m in metrics:
        if m not in METRICS:
            raise ValueError(f"unknown metric {m!r}; choose from {', '.join(METRICS)}")
    return metrics, True


def _int_option(name, value, lo, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


class Evaluator:
    """TopoFD, MMD and cell count errors of a synthetic set against a real one,
    accumulated batch by batch.

    ``update(x, real)`` takes a batch: an array (numpy, or anything with
    ``__array__`` / a torch tensor — torch is never imported here) of layout
    maps ``(B, C, H, W)`` or ``(B, H, W, C)``; a list of :class:`Layout`; or
    a list of layouts given as per-class ``(n_c, 2)`` point arrays.
    Array values: binary (0/1, bool) maps are used as they are; other values
    are thresholded, foreground = value > ``threshold``; ``threshold=None``
    picks 0 for data with negative values (the generator's [-1, 1] output)
    and 0.5 otherwise, decided on the first array batch and stated in the
    report.  Options are those of :func:`topofd.compare`.
    """

    def __init__(
        self,
        metrics: Sequence[str] | str | None = None,
        protocol: str = "paper",
        *,
        classes: Sequence[str] | None = None,
        complex: str = "rips",
        pairing: str = "prefix",
        n_jobs: int = 1,
        seed: int = 0,
        mmd_sigma: float | None = None,
        mmd_samples: int | None = None,
        mmd_estimator: str = "unbiased",
        permutations: int = 0,
        n_bins: int = 100,
        n_layers: int = 1,
        fd_method: str = "sqrtm",
        threshold: float | None = None,
        channels: str = "auto",
        uncertainty: bool = True,
        se_groups: int = 20,
        paper_se_splits: int = 3,
        extrapolate: bool = False,
        cache_dir=None,
        use_bundled: bool = True,
        progress: bool = False,
    ):
        self.metrics, self._metrics_explicit = _parse_metrics(metrics)
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
        if complex not in COMPLEXES:
            raise ValueError(f"unknown complex {complex!r}; choose from {', '.join(COMPLEXES)}")
        if pairing not in ("prefix", "none"):
            raise ValueError(f"unknown pairing {pairing!r}; choose 'prefix' or 'none'")
        if mmd_estimator not in ("biased", "unbiased"):
            raise ValueError(f"mmd_estimator must be 'biased' or 'unbiased', not {mmd_estimator!r}")
        if fd_method not in ("sqrtm", "eig"):
            raise ValueError(f"unknown fd_method {fd_method!r}; choose 'sqrtm' or 'eig'")
        if channels not in ("auto", "first", "last"):
            raise ValueError(f"channels must be 'auto', 'first' or 'last', not {channels!r}")
        if mmd_sigma is not None and not (np.isfinite(mmd_sigma) and mmd_sigma > 0):
            raise ValueError(f"mmd_sigma must be positive, got {mmd_sigma!r}")
        if threshold is not None and not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}")
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
            raise ValueError(f"n_jobs must be a non-zero integer (-1: all cores), got {n_jobs!r}")
        self.protocol, self.complex, self.pairing = protocol, complex, pairing
        self.n_jobs, self.seed = int(n_jobs), int(seed)
        self.mmd_sigma, self.mmd_estimator = mmd_sigma, mmd_estimator
        self.mmd_samples = _int_option("mmd_samples", mmd_samples, 2, allow_none=True)
        self.permutations = _int_option("permutations", permutations, 0)
        self.n_bins = _int_option("n_bins", n_bins, 2)
        self.n_layers = _int_option("n_layers", n_layers, 1)
        self.se_groups = _int_option("se_groups", se_groups, 2)
        self.paper_se_splits = _int_option("paper_se_splits", paper_se_splits, 0)
        self.fd_method, self.threshold, self.channels = fd_method, threshold, channels
        self.uncertainty, self.extrapolate = bool(uncertainty), bool(extrapolate)
        self.given_classes = tuple(classes) if classes is not None else None
        self.cache_dir, self.use_bundled, self.progress = cache_dir, use_bundled, progress
        self._cache = Cache(cache_dir, bundled=use_bundled)
        self._threshold_used = threshold
        self.reset()

    # ------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget every layout (options are kept)."""
        self._real, self._synth = _Side(), _Side()
        self._reference: dict | None = None
        self._threshold_used = self.threshold

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_cache"] = None  # rebuilt from cache_dir: a handle, not state
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._cache = Cache(self.cache_dir, bundled=self.use_bundled)

    def options(self) -> dict:
        """The options that change a number (what a reference file records)."""
        return dict(protocol=self.protocol, complex=self.complex, n_bins=self.n_bins, n_layers=self.n_layers,
                    fd_method=self.fd_method)

    def merge(self, other: "Evaluator") -> "Evaluator":
        """Add ``other``'s layouts (both sets) to this one; options must agree."""
        if not isinstance(other, Evaluator):
            raise ValueError(f"can only merge another Evaluator, not {type(other).__name__}")
        mine, theirs = self._state_options(), other._state_options()
        if mine != theirs:
            diff = ", ".join(f"{k}: {mine[k]!r} vs {theirs[k]!r}" for k in mine if mine[k] != theirs[k])
            raise ValueError(f"cannot merge evaluators with different options ({diff})")
        if other._reference is not None:
            raise ValueError("cannot merge an evaluator that holds a loaded reference set; load it here instead")
        for mine_side, their_side in ((self._real, other._real), (self._synth, other._synth)):
            if len(their_side):
                self._check_side_compatible(mine_side, their_side.classes, their_side.array_shape,
                                            "merged evaluator")
                mine_side.adopt(their_side.classes, their_side.origin)
                mine_side.extend(their_side)
        return self

    def _state_options(self) -> dict:
        return dict(self.options(), metrics=self.metrics, pairing=self.pairing, seed=self.seed,
                    threshold=self._threshold_used if self._threshold_used is not None else self.threshold)

    # ------------------------------------------------------------ update
    def update(self, x, real: bool) -> None:
        """Add a batch of layouts to the real (``real=True``) or synthetic set.
        A rejected batch raises ``ValueError`` and leaves the state unchanged."""
        if not isinstance(real, (bool, np.bool_)):
            raise ValueError(f"real must be True or False, got {real!r}")
        side = self._real if real else self._synth
        if real and self._reference is not None:
            raise ValueError("the real set is a loaded reference; it cannot be extended")
        layouts, threshold, array_shape = self._as_layouts(x, real)
        if not layouts:
            return
        from topofd.layouts.sets import set_classes

        named = [bool(l.name) for l in layouts]
        classes, origin = set_classes("real" if real else "synthetic", layouts)
        self._check_side_compatible(side, classes, array_shape, "batch")
        keys = [layout_key(l, self.complex) for l in layouts]
        dgms = self._compute_diagrams(layouts, keys)
        # everything checked and computed: only now touch the state
        side.adopt(classes, origin)
        side.array_shape = side.array_shape or array_shape
        for l in layouts:
            if l.shape is not None:
                side.shapes[l.shape] = side.shapes.get(l.shape, 0) + 1
        side.extent = _max_extent(side.extent, _extent_of(layouts))
        if threshold is not None:
            self._threshold_used = threshold
        side.names.extend(l.name if n else None for l, n in zip(layouts, named))
        side.keys.extend(keys)
        side.counts.extend(l.counts for l in layouts)
        side.diagrams.extend(dgms)
        side.sources.extend(l.source or l.name for l in layouts)

    def update_diagrams(self, diagrams, counts, *, real: bool, names=None, keys=None, classes=None,
                        shape=None) -> None:
        """Add layouts whose H1 diagrams are already computed (``[layout][class]``
        arrays, e.g. a state gathered from other processes, or stored sets),
        with their per-class cell ``counts`` ``(n, C)``.  ``keys`` (content keys,
        see :func:`layout_key`) default to digests of the diagrams."""
        side = self._real if real else self._synth
        if real and self._reference is not None:
            raise ValueError("the real set is a loaded reference; it cannot be extended")
        dgms = [[np.asarray(d, np.float64).reshape(-1, 2) for d in row] for row in diagrams]
        counts = np.asarray(counts, np.int64).reshape(len(dgms), -1)
        C = counts.shape[1]
        if any(len(row) != C for row in dgms):
            raise ValueError(f"diagrams must have one entry per class ({C}) for every layout")
        classes = tuple(classes) if classes is not None else (self.given_classes or default_class_names(C))
        if len(classes) != C:
            raise ValueError(f"{len(classes)} class names for {C} classes")
        origin = "default" if classes == default_class_names(C) else "positional"
        shape = tuple(shape) if shape is not None else None
        self._check_side_compatible(side, classes, None, "batch")
        if keys is None:
            keys = [digest("dgm-only", _CACHE_VERSION, *[d.tobytes() for d in row], tuple(map(len, row)))
                    for row in dgms]
        if names is not None and len(names) != len(dgms) or len(keys) != len(dgms):
            raise ValueError("names and keys must have one entry per layout")
        side.adopt(classes, origin)
        if shape is not None:
            side.shapes[shape] = side.shapes.get(shape, 0) + len(dgms)
        side.names.extend(list(names) if names is not None else [None] * len(dgms))
        side.keys.extend(keys)
        side.counts.extend(counts)
        side.diagrams.extend(dgms)
        side.sources.extend(list(names) if names is not None else [""] * len(dgms))

    def _as_layouts(self, x, real) -> tuple[list[Layout], float | None]:
        what = "real" if real else "synthetic"
        if isinstance(x, (str, bytes, dict)) or x is None:
            raise ValueError(f"{what} batch: expected an array (B, C, H, W) / (B, H, W, C), a list of Layout or a "
                             f"list of per-class point arrays, not {type(x).__name__}")
        if isinstance(x, Layout):
            return [x], None, None
        if isinstance(x, (list, tuple)):
            if not x:
                return [], None, None
            if all(isinstance(l, Layout) for l in x):
                return list(x), None, None
            if all(isinstance(l, (list, tuple)) for l in x):
                names = self.given_classes
                out = []
                for i, pts in enumerate(x):
                    try:
                        arrs = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in pts]
                    except (TypeError, ValueError):
                        raise ValueError(f"{what} batch, item {i}: per-class point arrays must have shape (n, 2)") \
                            from None
                    out.append(Layout(tuple(arrs), names or default_class_names(len(arrs)), None, "",
                                      f"{what} item {i}"))
                return out, None, None
            if not all(hasattr(l, "__array__") or hasattr(l, "detach") for l in x):
                raise ValueError(f"{what} batch: expected an array (B, C, H, W) / (B, H, W, C), a list of Layout "
                                 "or a list of per-class point arrays")
            x = np.stack([_to_numpy(l) for l in x])
        a = _to_numpy(x)
        if a.ndim != 4:
            raise ValueError(f"{what} batch: layout maps must be 4-D (B, C, H, W) or (B, H, W, C), got shape "
                             f"{a.shape}")
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{what} batch: non-numeric dtype {a.dtype}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError(f"{what} batch: NaN or infinite values")
        ch = self.channels
        if ch == "auto":
            ch = "first" if a.shape[1] < a.shape[-1] else "last"
        if ch == "last":
            a = np.moveaxis(a, -1, 1)
        binary = a.dtype == bool or (a.size and a.min() >= 0 and a.max() <= 1 and np.isin(a, (0, 1)).all())
        t = self._threshold_used
        if not binary:
            if t is None:
                t = 0.0 if a.min() < 0 else 0.5
            elif self.threshold is None and t == 0.5 and a.min() < 0:
                raise ValueError(f"{what} batch has negative values, but an earlier batch fixed the threshold at "
                                 "0.5 for [0, 1] data; pass threshold= explicitly")
        names = self.given_classes
        out = []
        for i in range(a.shape[0]):
            m = a[i] if binary else a[i] > t
            out.append(Layout.from_array(m.astype(np.uint8) if m.dtype == bool else m, names, channels="first",
                                         source=f"{what} batch item {i}"))
        return out, (None if binary else t), (a.shape[2], a.shape[3])

    def _check_side_compatible(self, side, classes, array_shape, what):
        if side.classes is not None:
            if len(classes) != len(side.classes):
                raise ValueError(f"{what} has {len(classes)} classes, earlier layouts of this set have "
                                 f"{len(side.classes)}")
            if classes != side.classes and "default" not in (side.origin,) and \
                    classes != default_class_names(len(classes)):
                raise ValueError(f"{what} classes {list(classes)} differ from {list(side.classes)}")
        # arrays from a generator come at one size; folders (Lizard) may mix sizes, with a note
        if array_shape is not None and side.array_shape is not None and array_shape != side.array_shape:
            raise ValueError(f"{what} canvas {array_shape} differs from {side.array_shape} of earlier batches of "
                             "this set")

    def _compute_diagrams(self, layouts, keys) -> list:
        out: list = [None] * len(layouts)
        todo = []
        for i, k in enumerate(keys):
            v = self._cache.get_diagrams(k)
            if v is None:
                todo.append(i)
            else:
                out[i] = v
        if todo:
            bar = _progress_bar(self.progress, len(todo))
            done = lambda chunk, res: bar.update(len(chunk)) if bar is not None else None
            # Rips H1 cost grows ~cubically with the class size: balance on it
            weights = [sum(len(p) ** 3 for p in layouts[i].points) for i in todo]
            chunks = map_chunks(_ChunkFn(self.complex), [layouts[i].points for i in todo], self.n_jobs,
                                weights=weights, on_result=done)
            if bar is not None:
                bar.close()
            for i, d in zip(todo, (d for c in chunks for d in c)):
                out[i] = d
                self._cache.put_diagrams(keys[i], d)
        return out

    # --------------------------------------------------------- reference
    def load_reference(self, ref) -> dict:
        """Use a precomputed real set: a ``.topofd`` file from
        :func:`topofd.storage.reference.make_reference` / ``topofd stats``, or a named
        set (``topofd.storage.reference.names()``, e.g. ``"brca-m2c:test"``).
        Returns its metadata.  Refuses files made with other diagram options
        or by a newer format."""
        from topofd.storage.reference import load_reference

        if len(self._real):
            raise ValueError("the real set already has layouts; load the reference into a fresh Evaluator")
        ref_obj = load_reference(ref)
        ref_obj.check_compatible(self)
        classes = tuple(ref_obj.classes)
        side = _Side(names=list(ref_obj.names), keys=list(ref_obj.keys), counts=list(ref_obj.counts),
                     diagrams=ref_obj.diagrams, classes=classes,
                     origin=ref_obj.meta.get("class_origin")
                     or ("default" if classes == default_class_names(len(classes)) else "positional"),
                     shapes={ref_obj.shape: len(ref_obj.keys)} if ref_obj.shape else {},
                     sources=list(ref_obj.names))
        self._real = side
        self._reference = {"meta": ref_obj.meta, "stats": ref_obj.stats}
        return ref_obj.meta

    def real_state(self):
        """``(names, keys, counts, diagrams, classes, shape)`` of the real set
        in compute order (what a reference file stores)."""
        v = self._view(self._real, "real")
        shapes = self._real.shapes
        shape = next(iter(shapes)) if len(shapes) == 1 else None
        return v.names, v.keys, v.counts, v.diagrams, self._real.classes, shape

    def real_paper_stats(self, k: int) -> LandscapeStats:
        """The real set's ``paper`` statistics of class ``k`` (cached)."""
        return self._real_paper_stats(self._view(self._real, "real"), k)

    # ------------------------------------------------------------ compute
    def compute(self) -> Report:
        """Score the synthetic set against the real one (see :func:`topofd.compare`)."""
        t0 = time.perf_counter()
        if not len(self._real) and not len(self._synth):
            raise ValueError("compute() before any update(): no layouts in either set")
        if not len(self._real):
            raise ValueError("real set: no layouts")
        if not len(self._synth):
            raise ValueError("synthetic set: no layouts")
        R = self._view(self._real, "real")
        S = self._view(self._synth, "synthetic")
        from topofd.layouts.sets import match_canvases, match_classes, pair_names

        m = match_classes((self._real.classes, self._real.origin), (self._synth.classes, self._synth.origin),
                          self.given_classes)
        names, notes = m.names, list(m.notes)
        R, S = R.reordered(m.real_order), S.reordered(m.synth_order)
        C = len(names)
        notes += match_canvases(self._real.shapes, self._synth.shapes, real_extent=self._real.extent,
                                synth_extent=self._synth.extent)
        notes += self._empty_notes(R, S, names)
        both_empty = [int(R.counts[:, k].sum()) == 0 and int(S.counts[:, k].sum()) == 0 for k in range(C)]

        pairs = None
        if self.pairing == "prefix":
            pn = pair_names(R.names, S.names)
            pairs, un_r, un_s = pn.pairs, pn.unmatched_real, pn.unmatched_synth
            notes += pn.notes
            if un_s:
                notes.append(f"{len(un_s)} synthetic layouts match no real layout")
            if un_r:
                notes.append(f"{len(un_r)} real layouts have no synthetic counterpart")
        metrics = list(self.metrics)
        if "counts" in metrics and not pairs:
            why = ("no synthetic name starts with a real name" if self.pairing == "prefix"
                   else "pairing is 'none'")
            if self._metrics_explicit:
                raise ValueError(f"count errors need paired layouts: {why} (name synthetic files <real stem>_..., "
                                 "or leave counts out of the metrics)")
            notes.append(f"count errors skipped: they need paired layouts and {why}")
            metrics.remove("counts")

        table = pd.DataFrame(index=[*names, "mean"], dtype=float)
        artifacts: dict = {c: {} for c in names}
        unc: dict = {}
        meta_sigma: dict = {}
        counts_real = counts_synth = None
        self._dfs: dict = {}
        feats = _partner_features(R, pairs, len(S.keys))
        self._plan = plan(len(S.keys), self.seed, feats)

        if "counts" in metrics:
            counts_real = np.array([R.counts[i] for i, _ in pairs])
            counts_synth = np.array([S.counts[j] for _, j in pairs])
            # count pairs are the synthetic layouts in pair order: a plan of their own
            cplan = plan(len(pairs), self.seed, _partner_features(R, [(i, q) for q, (i, _) in enumerate(pairs)],
                                                                  len(pairs)))
            self._counts(table, counts_real, counts_synth, names, unc, notes, cplan)
        if "topofd" in metrics:
            self._topofd(table, R, S, names, both_empty, artifacts, unc, notes, pairs)
        if "topokd" in metrics:
            self._topokd(table, R, S, names, both_empty, pairs, unc)
        if "mmd" in metrics:
            self._mmd(table, R, S, names, both_empty, pairs, meta_sigma, unc, notes)
        if self.uncertainty and unc:
            unc["resampling"] = self._plan.describe()

        meta = {
            "topofd_version": _version(),
            "versions": _versions(),
            "protocol": self.protocol,
            "complex": self.complex,
            "metrics": metrics,
            "n_real": len(R.keys),
            "n_synth": len(S.keys),
            "n_pairs": len(pairs) if pairs is not None else None,
            "sigma": meta_sigma,
            "topokd": getattr(self, "_topokd_info", None) if "topokd" in metrics else None,
            "mmd_samples": self.mmd_samples,
            "mmd_estimator": self.mmd_estimator if "mmd" in metrics else None,
            "seed": self.seed,
            "n_bins": self.n_bins,
            "n_layers": self.n_layers,
            "threshold": self._threshold_used,
            "order": "each set sorted by layout name (the paper barycenter starts from the first diagram)",
            "uncertainty": unc,
            "reference": (self._reference or {}).get("meta"),
            "real_hash": digest("real-set", *sorted(R.keys)),
            **_named_set(R.keys),
            "se_df": dict(self._dfs),
            "notes": notes,
            "seconds": time.perf_counter() - t0,
        }
        return Report(self.protocol, tuple(names), _ordered(table), meta, artifacts, counts_real, counts_synth)

    def _view(self, side: _Side, what: str) -> _View:
        prefix = "" if side is self._real else "_gen"
        names = [n if n is not None else f"{i:07d}{prefix}" for i, n in enumerate(side.names)]
        order = sorted(range(len(names)), key=lambda i: names[i])
        counts = np.array([side.counts[i] for i in order]).reshape(len(order), -1)
        return _View([names[i] for i in order], [side.keys[i] for i in order], counts,
                     [side.diagrams[i] for i in order])

    @staticmethod
    def _empty_notes(R, S, names) -> list[str]:
        notes = []
        for what, V in (("real", R), ("synthetic", S)):
            if int(V.counts.sum()) == 0:
                raise ValueError(f"{what} set: no cells in any layout (check the files, --threshold or --colors)")
            for k, c in enumerate(names):
                if int(V.counts[:, k].sum()) == 0:
                    notes.append(f"class {c} has no cells in the {what} set")
        for k, c in enumerate(names):
            if int(R.counts[:, k].sum()) == 0 and int(S.counts[:, k].sum()) == 0:
                notes.append(f"class {c} is empty in both sets: not scored, left out of the mean")
        return notes

    # ------------------------------------------------------------ counts
    def _counts(self, table, cr, cs, names, unc, notes, cplan: Plan):
        err = (cs - cr).astype(float)
        est = cplan.mean if self.uncertainty else (lambda x: Estimate(float(np.mean(x))))
        for k, c in enumerate(names):
            _put(table, c, "cce", est(np.abs(err[:, k])))
        _put(table, "mean", "cce", est(np.abs(err).mean(axis=1)), self._dfs)
        tce = est(np.abs(err.sum(axis=1)))
        _put(table, "mean", "tce", tce, self._dfs)
        if self.uncertainty:
            unc["cce"] = unc["tce"] = (
                f"analytic over the N = {len(err)} pairs: se² = sum of squared twin differences of the per-pair "
                "absolute errors / N², t interval" if cplan.mode == "twins" else
                f"analytic: se = sd/sqrt(N) of the per-pair absolute errors, N = {len(err)} pairs, t interval")
        if tce.why:
            notes.append(f"count errors: {tce.why}")

    # ------------------------------------------------------------ TopoFD
    def _topofd(self, table, R, S, names, both_empty, artifacts, unc, notes, pairs=None):
        C = len(names)
        nR, nS = len(R.keys), len(S.keys)
        if nR < 2 or nS < 2:
            raise ValueError(f"TopoFD needs at least 2 layouts per set (real {nR}, synthetic {nS})")
        values, reps = [], []
        want_se = self.uncertainty and nS >= MIN_LAYOUTS
        if self.protocol == "paper":
            splits = self._plan.halves(self.paper_se_splits) if want_se and self.paper_se_splits else []
            method = (f"split halves: {len(splits)} seeded splits of the synthetic set into halves, each half's "
                      f"barycenter from its own first diagram; se = rms(half difference)/2, t_{len(splits)} interval"
                      if splits else None)
        else:
            lab = self._plan.groups(self.se_groups) if want_se else None
            method = (f"delete-a-group jackknife over the synthetic set, {lab.max() + 1} groups, real set fixed, "
                      "t interval" if lab is not None else None)
        inf_vals, inf_reps = [], []
        for k, c in enumerate(names):
            if both_empty[k]:
                values.append(np.nan)
                reps.append(None)
                inf_vals.append(np.nan)
                inf_reps.append(None)
                continue
            dr, ds = R.cls(k), S.cls(k)
            if self.protocol == "paper":
                sr = self._real_paper_stats(R, k)
                ss = landscape_stats(ds, "paper", n_bins=self.n_bins, n_layers=self.n_layers,
                                     what=f"{c} (synthetic)", n_threads=self.n_jobs)
                values.append(topofd_from_stats(sr, ss, self.fd_method))
                kw = dict(n_bins=self.n_bins, n_layers=self.n_layers, n_threads=self.n_jobs)
                reps.append([(topofd_from_stats(sr, landscape_stats([ds[i] for i in a], "paper", **kw),
                                                self.fd_method),
                              topofd_from_stats(sr, landscape_stats([ds[i] for i in b], "paper", **kw),
                                                self.fd_method)) for a, b in splits])
                artifacts[c].update(barycenter_real=sr.barycenter, barycenter_synth=ss.barycenter,
                                    landscape_real=sr.mu, landscape_synth=ss.mu,
                                    landscape_x_real=sr.mu_x, landscape_x_synth=ss.mu_x)
                if self.extrapolate:
                    inf_vals.append(self._paper_infinity(dr, ds, _one_to_one(pairs, nR, nS)))
                    inf_reps.append(None)
            else:
                sampling = shared_sampling([*dr, *ds], self.n_bins)
                Lr = landscapes_on(dr, sampling, self.n_layers)
                Ls = landscapes_on(ds, sampling, self.n_layers)
                sr = landscape_stats(dr, "grid", sampling=sampling, n_layers=self.n_layers, what=f"{c} (real)")
                ss = landscape_stats(ds, "grid", sampling=sampling, n_layers=self.n_layers, what=f"{c} (synthetic)")
                values.append(topofd_from_stats(sr, ss, self.fd_method))
                fd = FrechetTo(sr.mu, sr.sigma)
                reps.append([fd(*_gauss(Ls[lab != g])) for g in range(lab.max() + 1)] if lab is not None else [])
                artifacts[c].update(landscape_real=sr.mu, landscape_synth=ss.mu,
                                    landscape_x_real=sr.mu_x, landscape_x_synth=ss.mu_x)
                if self.extrapolate:
                    v, r = self._grid_infinity(Lr, Ls, lab, _one_to_one(pairs, nR, nS))
                    inf_vals.append(v)
                    inf_reps.append(r)
        combine = split_halves if self.protocol == "paper" else self._plan.jackknife
        self._fill(table, "topofd", names, values, reps, combine, want_se and bool(method))
        if method:
            unc["topofd"] = method
        elif self.uncertainty:
            why = (f"{nS} synthetic layouts: fewer than {MIN_LAYOUTS}" if nS < MIN_LAYOUTS
                   else "paper_se_splits=0")
            unc["topofd"] = f"none ({why})"
            notes.append(f"TopoFD: no interval ({why})")
        if self.extrapolate:
            if self.protocol == "grid":
                self._fill(table, "topofd_inf", names, inf_vals, inf_reps, self._plan.jackknife, lab is not None)
                unc["topofd_inf"] = "delete-a-group jackknife of the whole extrapolation" if lab is not None else "none"
            else:
                self._fill(table, "topofd_inf", names, inf_vals, inf_reps, None, False)
                unc["topofd_inf"] = ("none: each jackknife replicate would recompute 2 x 8 barycenters per class; "
                                     "use the grid protocol for an extrapolated value with an interval")
            from topofd.stats.extrapolate import FRACTIONS

            notes.append(f"TopoFD∞: least-squares fit of TopoFD against 1/n on nested subsets of "
                         f"{', '.join(f'{f:.0%}' for f in FRACTIONS)} of both sets (n real {nR}, synthetic {nS}), "
                         "value at 1/n = 0")

    def _fill(self, table, col, names, values, reps, combine, with_se):
        defined = [k for k, v in enumerate(values) if np.isfinite(v)]
        for k, c in enumerate(names):
            if not np.isfinite(values[k]):
                table.loc[c, col] = np.nan
                continue
            e = combine(values[k], reps[k]) if with_se and reps[k] else Estimate(values[k])
            _put(table, c, col, e)
        if not defined:
            table.loc["mean", col] = np.nan
            return
        mv = float(np.mean([values[k] for k in defined]))
        if with_se and all(reps[k] for k in defined):
            mr = np.mean([np.asarray(reps[k], float) for k in defined], axis=0)
            mr = [tuple(x) for x in mr] if mr.ndim == 2 else list(mr)
            _put(table, "mean", col, combine(mv, mr), self._dfs)
        else:
            _put(table, "mean", col, Estimate(mv))

    def _real_paper_stats(self, R: _View, k: int) -> LandscapeStats:
        ref = self._reference
        if ref is not None:
            s = ref["stats"].get(("paper", k, self.n_bins, self.n_layers))
            if s is not None:
                return s
        key = stats_key(R.keys, "paper", k, self.n_bins, self.n_layers)
        s = self._cache.get_stats(key)
        if s is None:
            s = landscape_stats(R.cls(k), "paper", n_bins=self.n_bins, n_layers=self.n_layers,
                                what=f"class {k} (real)", n_threads=self.n_jobs)
            self._cache.put_stats(key, s)
        return s

    def _grid_infinity(self, Lr, Ls, lab, pairs):
        """TopoFD∞ and its jackknife replicates.  Paired sets are subsampled
        by pairs (the same windows on both sides); a replicate leaves out a
        group of synthetic layouts and, when paired, their real partners."""
        from topofd.stats.extrapolate import FRACTIONS, extrapolated

        def score(ir, js):
            mu_r, s_r = _gauss(Lr[ir])
            return FrechetTo(mu_r, s_r)(*_gauss(Ls[js]))

        def value(keep):
            js = np.flatnonzero(keep)
            if pairs is None:
                return extrapolated(lambda ir, jj: score(ir, js[jj]), len(Lr), len(js), FRACTIONS,
                                    seed=self.seed)[0]
            sub = [(i, j) for i, j in pairs if keep[j]]
            return extrapolated(score, len(Lr), len(Ls), FRACTIONS, seed=self.seed, pairs=sub)[0]

        v = value(np.ones(len(Ls), dtype=bool))
        reps = [value(lab != g) for g in range(lab.max() + 1)] if lab is not None else []
        return v, reps

    def _paper_infinity(self, dr, ds, pairs):
        from topofd.stats.extrapolate import FRACTIONS, extrapolated

        kw = dict(n_bins=self.n_bins, n_layers=self.n_layers, n_threads=self.n_jobs)

        def score(ir, js):
            sr = landscape_stats([dr[i] for i in ir], "paper", **kw)
            ss = landscape_stats([ds[j] for j in js], "paper", **kw)
            return topofd_from_stats(sr, ss, self.fd_method)

        return extrapolated(score, len(dr), len(ds), FRACTIONS, seed=self.seed, pairs=pairs)[0]

    # ------------------------------------------------------------ TopoKD
    def _topokd(self, table, R, S, names, both_empty, pairs, unc):
        from topofd.metrics.landscape_kd import bandwidth2, features, kernel_sums, sampling, signed_sqrt

        nS = len(S.keys)
        want_se = self.uncertainty and nS >= MIN_LAYOUTS
        lab = self._plan.groups(self.se_groups) if want_se else None
        values, reps, info = [], [], {}
        for k, c in enumerate(names):
            if both_empty[k]:
                values.append(np.nan)
                reps.append(None)
                continue
            dr, ds = R.cls(k), S.cls(k)
            t = sampling(dr, ds)
            Fr, Fs = features(dr, t), features(ds, t)
            h2 = bandwidth2(Fr)
            ks = kernel_sums(Fr, Fs, h2, pairs=pairs, labels=lab)
            values.append(float(signed_sqrt(ks.mmd2())))
            reps.append(list(signed_sqrt(ks.replicates(lab))) if lab is not None else [])
            info[c] = {"range": float(t[-1]), "h2": h2}
        self._fill(table, "topokd", names, values, reps, self._plan.jackknife, lab is not None)
        self._topokd_info = info
        if self.uncertainty:
            unc["topokd"] = (f"delete-a-group jackknife over the synthetic set, {lab.max() + 1} groups, real set "
                             "fixed, t interval" if lab is not None
                             else f"none ({nS} synthetic layouts: fewer than {MIN_LAYOUTS})")

    # --------------------------------------------------------------- MMD
    def _mmd(self, table, R, S, names, both_empty, pairs, meta_sigma, unc, notes):
        nR, nS = len(R.keys), len(S.keys)
        sub_r, sub_s, sub_pairs = self._mmd_subsets(nR, nS, pairs)
        nr, ns = len(sub_r), len(sub_s)
        unbiased = self.mmd_estimator == "unbiased"
        if unbiased and (nr < 2 or ns < 2):
            raise ValueError(f"the unbiased MMD needs at least 2 layouts per set (real {nr}, synthetic {ns})")
        want_se = self.uncertainty and ns >= MIN_LAYOUTS
        mplan = self._plan if len(sub_s) == nS else plan(
            ns, self.seed, _partner_features(R.subset(sub_r), sub_pairs, ns))
        lab = mplan.groups(self.se_groups) if want_se else None
        values, reps = [], []
        for k, c in enumerate(names):
            if both_empty[k]:
                values.append(np.nan)
                reps.append(None)
                continue
            pooled = R.cls(k, sub_r) + S.cls(k, sub_s)
            W = pairwise_wasserstein(pooled, order=1.0, internal_p=np.inf, n_jobs=self.n_jobs)
            sigma = self.mmd_sigma
            if sigma is None:
                sigma, why = median_sigma(W)
                notes += [f"{c}: {n}" for n in why]
            meta_sigma[c] = float(sigma)
            K = np.exp(-W / sigma**2)
            cross = pair_mask(nr, ns, sub_pairs)
            v = mmd2(K, nr, unbiased=unbiased, cross=cross)
            values.append(v)
            if v < 0:
                notes.append(f"{c}: negative MMD² estimate (the W1 Gaussian kernel is not positive definite); "
                             "reported as is")
            reps.append(mmd2_replicates(K, nr, lab, unbiased=unbiased, cross=cross) if lab is not None else [])
            if self.permutations:
                table.loc[c, "mmd_p"] = permutation_p(K, nr, v, self.permutations, self.seed, unbiased=unbiased,
                                                      pairs=sub_pairs)
        self._fill(table, "mmd", names, values, reps, mplan.jackknife, lab is not None)
        if "mmd_p" in table:
            table.loc["mean", "mmd_p"] = np.nan
        unc["mmd"] = (f"delete-a-group jackknife over the synthetic set, {lab.max() + 1} groups, real set and kernel "
                      "width fixed, t interval" if lab is not None
                      else f"none ({ns} synthetic layouts: fewer than {MIN_LAYOUTS})" if self.uncertainty else "none")
        if self.mmd_samples is not None and (self.mmd_samples < nR or self.mmd_samples < nS):
            notes.append(f"MMD on a random subset of at most {self.mmd_samples} layouts per set (seed {self.seed})")
        if sub_pairs:
            notes.append("MMD cross term leaves out each synthetic layout's own real counterpart (paired samples)")

    def _mmd_subsets(self, nR, nS, pairs):
        one_to_one = bool(pairs) and len(pairs) == nR == nS and len({j for _, j in pairs}) == nS
        k = self.mmd_samples
        if one_to_one:
            p = sorted(pairs)
            keep = _subsample(len(p), k, self.seed, 1)
            sub = [p[i] for i in keep]
            sub_r = np.array([i for i, _ in sub])
            order = np.argsort([j for _, j in sub], kind="stable")
            sub_s = np.array([sub[i][1] for i in order])
            pos_s = {j: q for q, j in enumerate(sub_s)}
            return sub_r, sub_s, [(q, pos_s[j]) for q, (_, j) in enumerate(sub)]
        sub_r, sub_s = _subsample(nR, k, self.seed, 1), _subsample(nS, k, self.seed, 2)
        if not pairs:
            return sub_r, sub_s, None
        pr = {i: q for q, i in enumerate(sub_r)}
        ps = {j: q for q, j in enumerate(sub_s)}
        return sub_r, sub_s, [(pr[i], ps[j]) for i, j in pairs if i in pr and j in ps] or None


class _ChunkFn:
    """Picklable diagram job (a class, not a closure: nothing else travels)."""

    def __init__(self, complex):
        self.complex = complex

    def __call__(self, point_sets):
        return _diagram_chunk(point_sets, self.complex)


def _one_to_one(pairs, n_real: int, n_synth: int):
    """``pairs`` when they pair every real with exactly one synthetic layout."""
    if pairs and len(pairs) == n_real == n_synth and len({j for _, j in pairs}) == n_synth \
            and len({i for i, _ in pairs}) == n_real:
        return pairs
    return None


def _partner_features(R: _View, pairs, n_synth: int) -> np.ndarray | None:
    """Per synthetic layout, a summary of its real partner — per class: cell
    count, number of H1 points, total and largest H1 persistence — for
    matching twins; ``None`` unless every synthetic layout has a partner."""
    if not pairs:
        return None
    partner = np.full(n_synth, -1)
    for i, j in pairs:
        partner[j] = i
    if (partner < 0).any():
        return None
    C = R.counts.shape[1]
    F = np.zeros((len(R.keys), 4 * C))
    for i, row in enumerate(R.diagrams):
        for k, d in enumerate(row):
            p = d[:, 1] - d[:, 0] if len(d) else np.zeros(0)
            F[i, 4 * k:4 * k + 4] = (R.counts[i, k], len(d), p.sum(), p.max() if len(p) else 0.0)
    return F[partner]


def _named_set(keys) -> dict:
    """``dataset`` / ``test_set`` of the report when the real set is exactly a
    named reference set (published rows can then join its leaderboard)."""
    from topofd.storage.reference import bundled_match

    name = bundled_match(keys)
    if name is None:
        return {}
    return {"dataset": name.split(":")[0], "test_set": name}


def _gauss(L: np.ndarray):
    return L.mean(axis=0), np.atleast_2d(np.cov(L, rowvar=False))


def _put(table, row, col, e: Estimate, dfs: dict | None = None) -> None:
    table.loc[row, col] = e.value
    if e.se is not None:
        table.loc[row, [f"{col}_se", f"{col}_lo", f"{col}_hi"]] = [e.se, e.lo, e.hi]
        if dfs is not None and row == "mean":
            dfs[col] = e.df


_COLUMN_ORDER = ("topofd", "topofd_inf", "topokd", "mmd", "cce", "tce")


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """Columns in the documented order: topofd, (topofd_inf), mmd (and p),
    cce, tce, each followed by its se / lo / hi."""
    cols = []
    for m in _COLUMN_ORDER:
        for suffix in ("", "_se", "_lo", "_hi", "_p"):
            if f"{m}{suffix}" in table.columns:
                cols.append(f"{m}{suffix}")
    cols += [c for c in table.columns if c not in cols]
    return table[cols]


def _subsample(n, k, seed, stream):
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, stream]).choice(n, size=k, replace=False))


def _to_numpy(x) -> np.ndarray:
    # torch tensors without importing torch: detach / cpu are duck-typed
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(getattr(x, "dtype", "")) == "torch.bfloat16":
            x = x.float()
        x = x.numpy()
    return np.asarray(x)


def _progress_bar(enabled, total):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="diagrams", unit="layout", leave=False)


def _version():
    from topofd import __version__

    return __version__


def _versions():
    import gudhi
    import scipy

    out = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
           "gudhi": gudhi.__version__}
    try:
        import ripser

        out["ripser"] = getattr(ripser, "__version__", "?")
    except ImportError:  # pragma: no cover
        pass
    return out
