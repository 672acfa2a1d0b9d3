"""The streaming comparison: ``Evaluator.update(x, real=...)`` as layouts
arrive, ``compute()`` once — the one pipeline behind :func:`topofd.compare`.

The Evaluator holds state and orchestrates; it computes no score.  The
state (:class:`topofd.state.SetState`, one per set) is small and picklable:
per layout, its name, content key, cell counts and H1 diagram per class
(computed in ``update``, :mod:`topofd.diagrams`).  ``merge`` joins the
states of several workers (e.g. one per GPU rank).  ``compute`` puts each
set in name order, matches classes, canvases and pairs
(:mod:`topofd.layouts.matching`), runs the selected metric plug-ins
(:mod:`topofd.metrics`) and assembles their cells into a
:class:`~topofd.output.report.Report`.

Order: ``compute`` sorts each set by name (stable for equal names), so the
result does not depend on the order of ``update`` calls or merges except
through names; layouts given without a name are named by arrival index
(``0000000``, …; synthetic ones ``0000000_gen``, …), so the i-th synthetic
layout pairs with the i-th real one for count errors.  The ``paper``
barycenter starts from the first diagram in that order, as the published
script starts from the first file it lists.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from topofd import metrics as registry
from topofd.diagrams import diagrams_of
from topofd.layouts.batches import batch_layouts
from topofd.layouts.brca_m2c import named_set_layouts
from topofd.layouts.images import assign_images, report_images
from topofd.layouts.layout import default_class_names
from topofd.layouts.matching import empty_class_notes, match_canvases, match_classes, pair_names, set_classes
from topofd.metrics.base import Context, MetricResult, resampling_plan
from topofd.metrics.encoded import reference_features
from topofd.option_spec import signature_with_options
from topofd.options import Options, all_specs
from topofd.output.report import Report, assemble_table, provenance
from topofd.paper_stats import RealPaperStats
from topofd.set_checks import check_paths, shared_canvas, train_view
from topofd.state import SetState, SetView
from topofd.stats.scale import put_on_scale
from topofd.stats.uncertainty import by_image
from topofd.storage.cache import Cache
from topofd.storage.keys import digest, layout_key
from topofd.storage.reference import Reference, load_reference, named_set, scale_rows
from topofd.tda.summaries import LandscapeStats

__all__ = ["Evaluator"]


class Evaluator:
    """TopoFD, TopoKD, MMD and cell count errors (any registered metric) of a
    synthetic set against a real one, accumulated batch by batch.

    ``update(x, real)`` takes a batch: an array (numpy, or anything with
    ``__array__`` / a torch tensor — torch is never imported here) of layout
    maps ``(B, C, H, W)`` or ``(B, H, W, C)``; a list of :class:`Layout`; or
    a list of layouts given as per-class ``(n_c, 2)`` point arrays
    (:func:`topofd.layouts.batches.batch_layouts` says how arrays become
    layouts).  Options: an :class:`~topofd.options.Options` and/or its
    fields as keywords (those of :func:`topofd.compare`).
    """

    def __init__(self, options: Options | None = None, **kwargs: Any):
        registry.names()  # plug-ins of installed packages (entry points) bring their options
        self.options = Options.from_kwargs(options, **kwargs)
        check_paths(self.options)
        self.metrics = self.options.metrics or registry.default()
        self._cache = Cache(self.options.cache_dir, bundled=self.options.use_bundled)
        self.reset()

    # ------------------------------------------------------------- state
    def reset(self, *, keep_real: bool = False) -> None:
        """Forget every layout (options are kept).  ``keep_real=True`` forgets
        only the synthetic set: the real set, a loaded reference and the
        training set stay, as a training loop wants between two evaluations."""
        if not keep_real:
            self._sets: dict[bool, SetState] = {True: SetState(), False: SetState()}
            self._train = SetState()  # the generator's training layouts (memorisation metrics)
            self._reference: Reference | None = None
            self._train_reference: Reference | None = None
            self._threshold = self.options.threshold
        else:
            self._sets[False] = SetState()

    @property
    def cache(self) -> Cache:
        """The diagram and statistics cache (``hits``/``misses`` count lookups)."""
        return self._cache

    @property
    def threshold_used(self) -> float | None:
        """The array threshold in force (given, or fixed by the first grey-level batch)."""
        return self._threshold

    @property
    def reference(self) -> Reference | None:
        return self._reference

    def state(self, real: bool) -> SetState:
        """The per-layout state of the real or synthetic set (read it, don't change it)."""
        return self._sets[bool(real)]

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_cache"] = None  # rebuilt from cache_dir: a handle, not state
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._cache = Cache(self.options.cache_dir, bundled=self.options.use_bundled)

    def merge(self, other: Evaluator) -> Evaluator:
        """Add ``other``'s layouts (both sets) to this one; options must agree."""
        if not isinstance(other, Evaluator):
            raise ValueError(f"can only merge another Evaluator, not {type(other).__name__}")
        mine, theirs = self._state_options(), other._state_options()
        if mine != theirs:
            diff = ", ".join(f"{k}: {mine[k]!r} vs {theirs[k]!r}" for k in mine if mine[k] != theirs[k])
            raise ValueError(f"cannot merge evaluators with different options ({diff})")
        if other.reference is not None or other._train_reference is not None:
            raise ValueError("cannot merge an evaluator that holds a loaded reference set; load it here instead")
        if self._train_reference is not None and len(other._train):
            raise ValueError("the training set is a loaded reference; it cannot be extended by a merge")
        for mine_side, their_side in (
            (self.state(True), other.state(True)),
            (self.state(False), other.state(False)),
            (self._train, other._train),
        ):
            if len(their_side):
                mine_side.check_compatible(their_side.classes, their_side.array_shape, "merged evaluator")
                mine_side.adopt(their_side.classes, their_side.origin)
                mine_side.extend(their_side)
        return self

    def _state_options(self) -> dict:
        o = self.options
        return dict(
            protocol=o.protocol,
            complex=o.complex,
            n_bins=o.n_bins,
            n_layers=o.n_layers,
            fd_method=o.fd_method,
            metrics=self.metrics,
            pairing=o.pairing,
            seed=o.seed,
            threshold=self._threshold if self._threshold is not None else o.threshold,
        )

    # ------------------------------------------------------------ update
    def update(self, x, real: bool) -> None:
        """Add a batch of layouts to the real (``real=True``) or synthetic set.
        A rejected batch raises ``ValueError`` and leaves the state unchanged."""
        if not isinstance(real, (bool, np.bool_)):
            raise ValueError(f"real must be True or False, got {real!r}")
        self._extendable(real)
        self._add(self.state(real), x, "real" if real else "synthetic")

    def update_train(self, x) -> None:
        """Add a batch of the generator's *training* layouts (as ``update``
        takes them), for the memorisation metrics (``ct``, ``near_copies``):
        the real set is then the held-out set, and must differ from this one."""
        if self._train_reference is not None:
            raise ValueError("the training set is a loaded reference; it cannot be extended")
        self._add(self._train, x, "training")

    def needs_points(self) -> bool:
        """A selected metric scores the cells (by default: the memorisation
        metrics, when ``train`` is given)."""
        sel = self.options.metrics or (registry.expand(("memorisation",)) if self.options.train else ())
        return any("points" in registry.get(n).needs for n in sel)

    def keeps_points(self) -> bool:
        """Keep cells when a selected metric needs them, and always with the
        default selection: a later ``update_train`` adds the memorisation
        metrics, which need the cells of the layouts given before it."""
        return self.options.metrics is None or self.needs_points()

    def _add(self, side: SetState, x, what: str) -> None:
        o = self.options
        layouts, threshold, array_shape = batch_layouts(
            x, what, classes=o.classes, channels=o.channels, threshold=o.threshold, fixed_threshold=self._threshold
        )
        if not layouts:
            return
        layouts = assign_images(layouts, o.group_by)
        classes, origin = set_classes(what, layouts)
        side.check_compatible(classes, array_shape, "batch")
        keys = [layout_key(l, o.complex) for l in layouts]
        dgms = diagrams_of(layouts, keys, complex=o.complex, n_jobs=o.n_jobs, cache=self._cache, progress=o.progress)
        # everything checked and computed: only now touch the state
        side.add_layouts(layouts, keys, dgms, classes, origin, array_shape, keep_points=self.keeps_points())
        if threshold is not None:
            self._threshold = threshold

    def update_diagrams(
        self, diagrams, counts, *, real: bool, names=None, keys=None, classes=None, shape=None, points=None, images=None
    ) -> None:
        """Add layouts whose H1 diagrams are already computed (``[layout][class]``
        arrays, e.g. a state gathered from other processes, or stored sets),
        with their per-class cell ``counts`` ``(n, C)``.  ``keys`` (content keys,
        see :func:`topofd.storage.keys.layout_key`) default to digests of the diagrams;
        ``points``: each layout's cells ``[layout][class] -> (n, 2)`` (kept
        for the metrics that need them), all on the canvas ``shape``;
        ``images``: each layout's source image."""
        self._extendable(real)
        self.state(real).add_diagrams(
            diagrams,
            counts,
            names=names,
            keys=keys,
            classes=classes or self.options.classes,
            shape=shape,
            points=points if self.keeps_points() else None,
            images=images,
        )

    def _extendable(self, real: bool) -> None:
        if real and self._reference is not None:
            raise ValueError("the real set is a loaded reference; it cannot be extended")

    # --------------------------------------------------------- reference
    def load_reference(self, ref) -> dict:
        """Use a precomputed real set: a ``.topofd`` file from
        :func:`topofd.storage.reference.make_reference` / ``topofd stats``, or a
        named set (``topofd.storage.reference.names()``, e.g. ``"brca-m2c:test"``).
        Returns its metadata.  Refuses files made with other options
        (the recorded ones, e.g. the complex) or by a newer format."""
        if len(self.state(True)):
            raise ValueError("the real set already has layouts; load the reference into a fresh Evaluator")
        r = load_reference(ref)
        r.check_compatible(self.options)
        state = SetState.from_reference(r, default_class_names(len(r.classes)), self.options.group_by)
        if self.needs_points() and isinstance(ref, str):
            self._attach_cells(state, named_set_layouts(ref))
        self._sets[True] = state
        self._reference = r
        return r.meta

    def _attach_cells(self, state: SetState, layouts) -> None:
        """Give a named reference set its cells (rebuilt from bundled files),
        when they are exactly its layouts (same content keys)."""
        if not layouts:
            return
        by_key = {layout_key(l, self.options.complex): l for l in layouts}
        if set(by_key) != set(state.keys):
            return
        state.points = [by_key[k].points for k in state.keys]
        state.canvases = [by_key[k].shape for k in state.keys]

    def load_train_reference(self, ref) -> dict:
        """Use a precomputed *training* set (a ``.topofd`` file or a named
        set, as :meth:`load_reference`): C_T works on its diagrams; near
        copies need cells and are not measured.  Returns its metadata."""
        if len(self._train):
            raise ValueError("the training set already has layouts; load the reference into a fresh Evaluator")
        r = load_reference(ref)
        r.check_compatible(self.options)
        self._train = SetState.from_reference(r, default_class_names(len(r.classes)), self.options.group_by)
        self._train_reference = r
        return r.meta

    def reference_features(self, view: SetView, want: bool | None) -> tuple[dict, list, str]:
        """The real set's encoder features for a reference file (:func:`topofd.metrics.encoded.reference_features`)."""
        return reference_features(self.options, view, want)

    def real_view(self) -> SetView:
        """The real set in compute order (what a reference file stores)."""
        return self.state(True).view(synthetic=False)

    def real_paper_stats(self, k: int, real: SetView | None = None) -> LandscapeStats:
        """The real set's ``paper`` statistics of class ``k``: from the loaded
        reference, the cache, or computed (and cached)."""
        return self._paper_source(real if real is not None else self.real_view())(k)

    def _paper_source(self, R: SetView) -> RealPaperStats:
        return RealPaperStats(self.options, self._reference, self._cache, R)

    def _stored_features(self, R: SetView, m):
        """The ``real_features`` of the plug-in context: a loaded reference's
        stored encoder features for ``R``'s rows, or a note why none apply."""
        ref = self._reference
        if ref is None:
            return None
        if m.real_order is not None and list(m.real_order) != list(range(len(m.real_order))):
            # the channels were encoded in the file's order; recomputing would encode them in the report's
            return (
                f"the features stored in {ref.path} are in its class order {', '.join(ref.classes)}, this "
                f"comparison reorders them to {', '.join(m.names)}; compare in the file's order"
            )

        def lookup(ex):
            got = ref.features_for(ex.name, ex.sha256)
            if isinstance(got, str):
                return got
            row = {k: i for i, k in reversed(list(enumerate(ref.keys)))}
            return got[[row[k] for k in R.keys]]

        return lookup

    # ------------------------------------------------------------ compute
    def compute(self) -> Report:
        """Score the synthetic set against the real one (see :func:`topofd.compare`)."""
        t0 = time.perf_counter()
        real_s, synth_s = self.state(True), self.state(False)
        if not len(real_s) and not len(synth_s):
            raise ValueError("compute() before any update(): no layouts in either set")
        for what, s in (("real", real_s), ("synthetic", synth_s)):
            if not len(s):
                raise ValueError(f"{what} set: no layouts")
        assert real_s.classes is not None and synth_s.classes is not None  # adopted with the first layout
        o = self.options
        m = match_classes((real_s.classes, real_s.origin), (synth_s.classes, synth_s.origin), o.classes)
        R = real_s.view(synthetic=False).reordered(m.real_order)
        S = synth_s.view(synthetic=True).reordered(m.synth_order)
        names, notes = tuple(m.names), list(m.notes)
        notes += match_canvases(real_s.shapes, synth_s.shapes, real_extent=real_s.extent, synth_extent=synth_s.extent)
        R, S, canvas_notes = shared_canvas(R, S)
        notes += canvas_notes
        empty_notes, both_empty = empty_class_notes(R.counts, S.counts, names)
        notes += empty_notes
        pairs, selected = self._pairs_and_metrics(R, S, notes)
        plan = resampling_plan(R, pairs, len(S), o.seed)
        plan = by_image(plan, S.image_labels(), notes, on=o.se_by_image, quiet=not o.uncertainty)
        T = self._train_view(names, R, selected)
        ctx = Context(o, names, both_empty, pairs, plan, self._paper_source(R), T, self._stored_features(R, m))
        results: dict[str, MetricResult] = {}
        for name in registry.run_order(selected):
            results[name] = registry.get(name).score(R, S, ctx)
        table, se_df = assemble_table(names, results)
        own = {n: tuple(x.name for x in registry.get(n).options) for n in selected if registry.get(n).columns[0].scaled}
        scale, scale_notes = put_on_scale(table, scale_rows(self._reference, R.keys), o, own, m.real_order, bool(pairs))
        unc = {col: how for r in results.values() for col, how in r.uncertainty.items()}
        if o.uncertainty and unc:
            unc["resampling"] = plan.describe()
        meta = provenance(
            o,
            selected,
            results,
            unc,
            se_df,
            [*notes, *(n for r in results.values() for n in r.notes), *scale_notes],
            n_real=len(R),
            n_synth=len(S),
            n_pairs=len(pairs) if pairs is not None else None,
            threshold=self._threshold,
            reference=self._reference.meta if self._reference else None,
            real_hash=digest("real-set", *sorted(R.keys)),
            named=named_set(R.keys),
            seconds=time.perf_counter() - t0,
            train={"n_train": len(T), "train_hash": digest("train-set", *sorted(T.keys))} if T is not None else None,
        )
        images = report_images(R.images, S.images, o.group_by)
        meta.update({**({"images": images} if images is not None else {}), **({"scale": scale} if scale else {})})
        counts = results["counts"].counts if "counts" in results else None
        artifacts = {c: {k: v for r in results.values() for k, v in r.artifacts.get(c, {}).items()} for c in names}
        return Report(o.protocol, names, table, meta, artifacts, *(counts or (None, None)))

    def _pairs_and_metrics(self, R: SetView, S: SetView, notes: list) -> tuple[list | None, list[str]]:
        o = self.options
        pairs = None
        if o.pairing == "prefix":
            pn = pair_names(R.names, S.names)
            pairs = pn.pairs
            notes += pn.notes
            if pn.unmatched_synth:
                notes.append(f"{len(pn.unmatched_synth)} synthetic layouts match no real layout")
            if pn.unmatched_real:
                notes.append(f"{len(pn.unmatched_real)} real layouts have no synthetic counterpart")
        selected = list(self.metrics)
        if o.metrics is None and len(self._train):
            selected += registry.expand(("memorisation",))
        for name in list(selected):
            if "train" in registry.get(name).needs and not len(self._train):
                raise ValueError(f"{name} needs the generator's training layouts (--train, or Evaluator.update_train)")
            if "pairs" in registry.get(name).needs and not pairs:
                why = "no synthetic name starts with a real name" if o.pairing == "prefix" else "pairing is 'none'"
                if o.metrics is not None:
                    raise ValueError(
                        f"count errors need paired layouts: {why} (name synthetic files "
                        "<real stem>_..., or leave counts out of the metrics)"
                    )
                notes.append(f"count errors skipped: they need paired layouts and {why}")
                selected.remove(name)
        return pairs, selected

    def _train_view(self, names, R: SetView, selected) -> SetView | None:
        """The checked training set (:func:`topofd.set_checks.train_view`);
        ``None`` when no selected metric needs it."""
        if not any("train" in registry.get(n).needs for n in selected):
            return None
        return train_view(self._train, names, R, self.state(True).shapes)


Evaluator.__init__.__signature__ = signature_with_options(["self"], {n: d for n, _, d in all_specs()})  # type: ignore[attr-defined]
