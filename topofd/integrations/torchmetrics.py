"""Every topofd metric (TopoFD, TopoKD, MMD, cell count errors) as a ``torchmetrics.Metric``, with its
state gathered across DDP ranks.

    from topofd.integrations.torchmetrics import TopoMetrics

    metric = TopoMetrics(classes=["lym", "epi", "stro"]).to(device)
    for real_maps, counts in loader:            # on each rank: that rank's share
        metric.update(real_maps, real=True)     # (B, C, H, W) / (B, H, W, C)
        metric.update(generator(counts), real=False)
    scores = metric.compute()                   # identical on every rank
    scores["topofd"], scores["topofd_lo"], scores["topofd/lym"]
    print(metric.report)                        # the full topofd.Report

``TopoMetrics(metrics=None, protocol="paper", *, reference=None, **options)``:
``metrics``, ``protocol`` and every keyword of :class:`topofd.Evaluator`
(``classes``, ``threshold``, ``seed``, ``mmd_samples``, ``n_jobs``, …) plus
torchmetrics' own (``process_group``, ``sync_on_compute``,
``compute_on_cpu``, …).  ``reference``: a named set (``"brca-m2c:test"``)
or a ``.topofd`` file as the real set; ``update(..., real=True)`` is then
refused.

``update(x, real)`` takes what :meth:`topofd.Evaluator.update` takes and
computes the batch's persistence diagrams on the rank that received it.
``forward`` only accumulates (a TopoFD of one batch means nothing) and
returns ``None``.  ``compute()`` gathers every rank's layouts, rebuilds an
:class:`~topofd.Evaluator` from them (:meth:`~topofd.Evaluator.update_diagrams`,
no diagram is recomputed) and scores it on every rank; it returns a ``dict``
of float64 scalar tensors, as ``MetricCollection`` and Lightning's
``log_dict`` expect: the ``mean`` row of the report (``topofd``,
``topofd_se``, ``topofd_lo``, ``topofd_hi``, ``mmd``…, ``cce``, ``tce``:
whatever the report has, NaN where it has no value) and each class's values
as ``"<column>/<class>"``.  The :class:`topofd.Report` itself is kept in
``metric.report``.

Order, hence the numbers: the Evaluator scores each set in name order (the
``paper`` barycenter starts from the first diagram; unnamed synthetic and
real layouts pair by index for count errors).  A layout that arrives without
a name, as the ``i``-th of its set on rank ``r`` of ``W``, is named
``i * W + r`` (seven digits; synthetic ones ``_gen``-suffixed), its position
in the dataset when a ``DistributedSampler(shuffle=False)`` deals the data
out; named layouts (a list of :class:`topofd.Layout`) keep their names.  The
order is therefore a function of the data and of which rank got what, never
of the order in which the ranks' states are gathered, and on one process
(``W = 1``) it is exactly a plain Evaluator's: the numbers are those of
``topofd.Evaluator`` fed the dataset in order (``tests/test_integrations.py``
checks both, with 2 gloo processes).  A rank may receive nothing.

State (lists of tensors, ``dist_reduce_fx="cat"``): ``layout_meta``
``(n, 7)`` int64 — set (0 real, 1 synthetic), rank, index on that rank,
number of classes, name length, canvas height and width (-1: none);
``diagram_points`` ``(P, 2)`` float64, every H1 diagram's points, layout
major, class minor; ``class_stats`` ``(n·C, 2)`` int64, per layout and class
the diagram's length and the cell count; ``layout_keys`` ``(n, 32)`` uint8,
the content keys (:func:`topofd.storage.keys.layout_key`); ``cell_points``
``(Q, 2)`` float64, the cells of every layout, layout major, class minor
(``class_stats``' counts say where each ends), kept only when a selected
metric needs the cells (fidelity, memorisation, FID/KID); ``layout_names``
(UTF-8 bytes); ``batch_info`` / ``batch_info_len``, one JSON record per
``update`` (classes, where their names come from, threshold).  Do not
``set_dtype`` this metric: its states are not all floating point.
"""

from __future__ import annotations

import json

import numpy as np

try:
    import torch
    from torchmetrics import Metric
except ImportError as e:  # pragma: no cover - exercised only without torchmetrics
    raise ImportError(
        "topofd.integrations.torchmetrics needs torch and torchmetrics: pip install 'topofd[torchmetrics]'"
    ) from e

from topofd.evaluator import Evaluator
from topofd.layouts.layout import Layout, default_class_names
from topofd.options import EVALUATOR, option_owner
from topofd.output.report import Report

__all__ = ["TopoMetrics"]

_EVALUATOR_OPTIONS = frozenset(EVALUATOR) - {"metrics", "protocol"}
_KEY_BYTES = 32  # layout keys are SHA-256 hex digests
_SIDE, _RANK, _INDEX, _NCLS, _NAMELEN, _H, _W = range(7)
# state name -> (dtype, shape of one row)
_STATES = {
    "layout_meta": (torch.int64, (7,)),
    "diagram_points": (torch.float64, (2,)),
    "class_stats": (torch.int64, (2,)),
    "layout_keys": (torch.uint8, (_KEY_BYTES,)),
    "layout_names": (torch.uint8, ()),
    "batch_info": (torch.uint8, ()),
    "batch_info_len": (torch.int64, ()),
    "cell_points": (torch.float64, (2,)),
}
_ORIGIN_RANK = {"content": 0, "positional": 1, "default": 2}


class TopoMetrics(Metric):
    """The streaming :class:`topofd.Evaluator` as a torchmetrics metric
    (see the module docstring for options, return value and order)."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, metrics=None, protocol: str = "paper", *, reference=None, **kwargs):
        # the Evaluator's options, metric plug-ins' own included; the rest are torchmetrics'
        ev_options = {k: kwargs.pop(k) for k in list(kwargs) if k in _EVALUATOR_OPTIONS or option_owner(k)}
        super().__init__(**kwargs)
        self._topofd_options = dict(metrics=metrics, protocol=protocol, **ev_options)
        self._topofd_reference = reference
        # validates the options (and the reference) now, not at the first compute
        self._topofd_local = self._evaluator()
        for name in _STATES:
            self.add_state(name, default=[], dist_reduce_fx="cat")
        self.report: Report | None = None

    # ------------------------------------------------------------ helpers
    def _evaluator(self, **override) -> Evaluator:
        ev = Evaluator(**{**self._topofd_options, **override})
        if self._topofd_reference is not None:
            ev.load_reference(self._topofd_reference)
        return ev

    def _rank(self) -> int:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return int(torch.distributed.get_rank(self.process_group))
        return 0

    def _world_size(self) -> int:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return int(torch.distributed.get_world_size(self.process_group))
        return 1

    def _tensor(self, a: np.ndarray, name: str) -> torch.Tensor:
        dtype, row = _STATES[name]
        return torch.from_numpy(np.array(a, copy=True)).to(device=self.device, dtype=dtype).reshape(-1, *row)

    def _gathered(self, name: str) -> np.ndarray:
        dtype, row = _STATES[name]
        v = getattr(self, name)
        if isinstance(v, list):
            v = torch.cat(v) if v else torch.zeros((0, *row), dtype=dtype)
        return v.detach().cpu().reshape(-1, *row).numpy()

    # ------------------------------------------------------------- update
    def update(self, x, real: bool) -> None:
        """Add a batch to the real (``real=True``) or synthetic set; a
        rejected batch raises ``ValueError`` and changes nothing."""
        if not isinstance(real, (bool, np.bool_)):
            raise ValueError(f"real must be True or False, got {real!r}")
        ev = self._topofd_local
        side = ev.state(real)
        n0, shapes0 = len(side), dict(side.shapes)
        ev.update(x, real=bool(real))  # checks the batch against the earlier ones and computes its diagrams
        n = len(side) - n0
        if n == 0:
            return
        assert side.classes is not None  # adopted by ev.update() with the batch
        names = side.names[n0:]
        keys, counts, dgms = side.keys[n0:], side.counts[n0:], side.diagrams[n0:]
        shapes = _batch_shapes(
            x, {s: k - shapes0.get(s, 0) for s, k in side.shapes.items() if k != shapes0.get(s, 0)}, n
        )
        rank = self._rank()
        code = 0 if real else 1
        seen = self._gathered("layout_meta")
        done = int(((seen[:, _SIDE] == code) & (seen[:, _RANK] == rank)).sum())
        name_bytes = [(nm or "").encode("utf-8") for nm in names]
        rows = np.zeros((n, 7), np.int64)
        rows[:, _SIDE], rows[:, _RANK] = code, rank
        rows[:, _INDEX] = done + np.arange(n)
        rows[:, _NCLS] = [len(c) for c in counts]
        rows[:, _NAMELEN] = [len(b) for b in name_bytes]
        rows[:, _H : _W + 1] = [s if s is not None else (-1, -1) for s in shapes]
        flat = [np.asarray(d, np.float64).reshape(-1, 2) for row in dgms for d in row]
        points = np.concatenate(flat) if flat else np.zeros((0, 2))
        stats = np.array([(len(d), c) for row, cnt in zip(dgms, counts) for d, c in zip(row, cnt)], np.int64).reshape(
            -1, 2
        )
        try:
            key_bytes = np.frombuffer(b"".join(bytes.fromhex(k) for k in keys), np.uint8).reshape(n, _KEY_BYTES)
        except ValueError:
            raise ValueError(
                "layout keys are not SHA-256 hex digests; this adapter needs topofd.storage.keys.layout_key"
            ) from None
        info = json.dumps(
            {
                "set": code,
                "rank": rank,
                "classes": list(side.classes),
                "origin": side.origin,
                "threshold": ev.threshold_used,
            }
        ).encode("utf-8")
        arrays: dict[str, np.ndarray] = {
            "layout_meta": rows,
            "diagram_points": points,
            "class_stats": stats,
            "layout_keys": key_bytes,
            "layout_names": np.frombuffer(b"".join(name_bytes), np.uint8),
            "batch_info": np.frombuffer(info, np.uint8),
            "batch_info_len": np.array([len(info)], np.int64),
        }
        if ev.needs_points():  # fidelity, memorisation, FID/KID score the cells, not the diagrams
            cells = [np.asarray(p, np.float64).reshape(-1, 2) for lay in side.points[n0:] for p in lay]
            arrays["cell_points"] = np.concatenate(cells) if cells else np.zeros((0, 2))
        new = {k: self._tensor(v, k) for k, v in arrays.items()}
        for k, v in new.items():
            getattr(self, k).append(v)

    def forward(self, *args, **kwargs):
        """Accumulate only (``compute()`` gives the score); returns ``None``."""
        self.update(*args, **kwargs)
        return None

    # ------------------------------------------------------------ syncing
    def sync(self, *args, **kwargs):
        # A rank without data would be padded by torchmetrics with a 1-D float
        # tensor, which cannot be gathered with the other ranks' (n, 7) int64
        # (or any other typed) rows: give each empty state a typed empty row.
        for name, (dtype, row) in _STATES.items():
            v = getattr(self, name)
            if isinstance(v, list) and not v:
                v.append(torch.zeros((0, *row), dtype=dtype, device=self.device))
        return super().sync(*args, **kwargs)

    def reset(self) -> None:
        super().reset()
        self._topofd_local = self._evaluator()
        self.report = None

    # ------------------------------------------------------------ compute
    def evaluator(self) -> Evaluator:
        """An :class:`topofd.Evaluator` holding this metric's layouts — after
        ``compute``'s gathering, every rank's (called inside ``compute``; on
        its own, this rank's)."""
        s = {name: self._gathered(name) for name in _STATES}
        meta, points, stats = s["layout_meta"], s["diagram_points"], s["class_stats"]
        n = len(meta)
        ncls = meta[:, _NCLS]
        if (
            len(s["layout_keys"]) != n
            or len(stats) != ncls.sum()
            or len(points) != stats[:, 0].sum()
            or len(s["layout_names"]) != meta[:, _NAMELEN].sum()
            or len(s["batch_info"]) != s["batch_info_len"].sum()
            or len(s["cell_points"]) not in (0, stats[:, 1].sum())
        ):
            raise ValueError(
                "inconsistent TopoMetrics state (array lengths differ): were states edited or "
                "merged from another metric class?"
            )
        infos = [json.loads(b.decode("utf-8")) for b in _split_bytes(s["batch_info"], s["batch_info_len"])]
        thresholds = sorted({i["threshold"] for i in infos if i["threshold"] is not None})
        if len(thresholds) > 1:
            raise ValueError(
                f"ranks thresholded their layout maps at different values {thresholds}; pass threshold= explicitly"
            )
        override = {}
        if thresholds and self._topofd_options.get("threshold") is None:
            override["threshold"] = thresholds[0]
        ev = self._evaluator(**override)

        cls_end = np.cumsum(ncls)
        pt_end = np.cumsum(stats[:, 0])
        cells, cell_end = (s["cell_points"], np.cumsum(stats[:, 1])) if len(s["cell_points"]) else (None, None)
        names = [b.decode("utf-8") for b in _split_bytes(s["layout_names"], meta[:, _NAMELEN])]
        world = max(self._world_size(), int(meta[:, _RANK].max()) + 1 if n else 1)
        for code, real in ((0, True), (1, False)):
            idx = np.flatnonzero(meta[:, _SIDE] == code)
            if not len(idx):
                continue
            C = set(ncls[idx].tolist())
            if len(C) > 1:
                raise ValueError(
                    f"{'real' if real else 'synthetic'} layouts with different numbers of classes "
                    f"({', '.join(map(str, sorted(C)))}) on different ranks"
                )
            C = C.pop()
            classes = _side_classes([i for i in infos if i["set"] == code], C, "real" if real else "synthetic")
            suffix = "" if real else "_gen"
            full = [names[i] or f"{meta[i, _INDEX] * world + meta[i, _RANK]:07d}{suffix}" for i in idx]
            order = sorted(range(len(idx)), key=lambda j: (full[j], meta[idx[j], _RANK], meta[idx[j], _INDEX]))
            rows = []
            for j in order:
                i = idx[j]
                c0 = cls_end[i] - C
                row = []
                for q in range(c0, cls_end[i]):
                    row.append(points[pt_end[q] - stats[q, 0] : pt_end[q]])
                shape = None if meta[i, _H] < 0 else (int(meta[i, _H]), int(meta[i, _W]))
                pts = _cells_of(cells, cell_end, stats[:, 1], range(c0, cls_end[i]))
                rows.append((full[j], s["layout_keys"][i].tobytes().hex(), stats[c0 : cls_end[i], 1], row, shape, pts))
            # one update_diagrams per run of equal canvases keeps the name order and the canvas counts
            start = 0
            while start < len(rows):
                stop = start
                while stop < len(rows) and rows[stop][4] == rows[start][4]:
                    stop += 1
                run = rows[start:stop]
                ev.update_diagrams(
                    [r[3] for r in run],
                    np.array([r[2] for r in run]),
                    real=real,
                    names=[r[0] for r in run],
                    keys=[r[1] for r in run],
                    classes=classes,
                    shape=run[0][4],
                    points=[r[5] for r in run] if cells is not None else None,
                )
                start = stop
        return ev

    def compute(self) -> dict:
        """Scores of every rank's layouts (see the module docstring); the
        full report in ``self.report``."""
        report = self.evaluator().compute()
        self.report = report
        return _as_tensors(report, self.device)


def _batch_shapes(x, added: dict, n: int) -> list:
    """Canvas of each layout of a batch: a Layout's own, else the batch's
    one canvas (array batches) or none (point arrays)."""
    if isinstance(x, Layout):
        x = [x]
    if isinstance(x, (list, tuple)) and x and all(isinstance(l, Layout) for l in x):
        return [l.shape for l in x]
    if not added:
        return [None] * n
    if len(added) != 1:
        raise ValueError(f"batch of {n} layouts with {len(added)} canvas sizes")
    return [next(iter(added))] * n


def _cells_of(cells, ends, counts, rows) -> tuple | None:
    """One layout's cells per class from the gathered ``cell_points`` (``None``: not carried)."""
    if cells is None or ends is None:
        return None
    return tuple(cells[ends[q] - counts[q] : ends[q]] for q in rows)


def _split_bytes(flat: np.ndarray, lengths) -> list[bytes]:
    ends = np.cumsum(np.asarray(lengths, np.int64))
    data = flat.tobytes()
    return [data[e - l : e] for e, l in zip(ends.tolist(), np.asarray(lengths).tolist())]


def _side_classes(infos: list, C: int, what: str) -> tuple:
    """The class names of one set over every rank's batches: named ones
    must agree; numbered (default) ones give way to names."""
    for i in infos:
        if len(i["classes"]) != C:
            raise ValueError(f"{what} layouts: {len(i['classes'])} class names for {C} classes")
    named = [(tuple(i["classes"]), i["origin"]) for i in infos if i["origin"] != "default"]
    distinct = sorted({c for c, _ in named})
    if len(distinct) > 1:
        raise ValueError(
            f"{what} layouts name their classes differently on different ranks: "
            + " vs ".join(", ".join(c) for c in distinct)
        )
    if named:
        return min(named, key=lambda co: _ORIGIN_RANK[co[1]])[0]
    return tuple(infos[0]["classes"]) if infos else default_class_names(C)


def _as_tensors(report: Report, device) -> dict:
    d = report.to_dict()

    def t(v):
        return torch.tensor(float("nan") if v is None else float(v), dtype=torch.float64, device=device)

    out = {k: t(v) for k, v in d["mean"].items()}
    for row in d["per_class"]:
        out.update({f"{k}/{row['class']}": t(v) for k, v in row.items() if k != "class"})
    return out
