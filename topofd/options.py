"""Every option of a comparison, defined once.

:class:`Options` is the one table: its fields are the keyword arguments of
:func:`topofd.compare` and :class:`topofd.Evaluator`, and each field's
:class:`Spec` (type, range, choices, help text, CLI flag, the commands that
take it) is what ``topofd.cli`` builds the flags of ``compare``, ``stats``
and ``baseline`` from, what the torchmetrics adapter accepts, and what the
docs' CLI reference shows.  Values are checked here alone (a list option is
a sequence or one comma-separated string, ``classes="lym,epi,stro"`` too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from topofd.layouts.readers.png import parse_colors
from topofd.option_spec import OptionError, PluginOptions, Spec, check_value, parse_canvas, parse_list
from topofd.tda.summaries import PROTOCOLS

__all__ = [
    "Spec",
    "Options",
    "OptionError",
    "specs",
    "all_specs",
    "register_option",
    "set_metric_resolver",
    "option_owner",
    "EVALUATOR",
    "READER",
    "RECORDED",
    "parse_list",
    "parse_canvas",
    "DEFAULTS",
]

COMPLEXES = ("rips", "alpha")
FORMATS = ("auto", "npy", "png", "csv", "txt", "geojson", "mat")


def _opt(default: Any, spec: Spec) -> Any:
    return field(default=default, metadata={"spec": spec})


_READ_CMDS = ("compare", "stats", "baseline", "train-encoder")


@dataclass(frozen=True)
class Options:
    """The options of a comparison (see each field's help, or ``topofd compare --help``)."""

    metrics: tuple[str, ...] | None = _opt(
        None,
        Spec(
            "Metrics or groups of metrics to compute (default: the default metrics; counts are then skipped with a "
            "note when no names pair).",
            "list",
            "--metrics",
            metavar="LIST",
        ),
    )
    protocol: str = _opt(
        "paper",
        Spec(
            "paper: the published TopoFD computation; grid: one landscape sampling shared by every diagram.",
            "choice",
            "--protocol",
            choices=PROTOCOLS,
        ),
    )
    complex: str = _opt(
        "rips",
        Spec(
            "Filtration of the persistence diagrams (a reference file made by `topofd stats` records it).",
            "choice",
            "--complex",
            choices=COMPLEXES,
            commands=("compare", "stats"),
            recorded=True,
        ),
    )
    pairing: str = _opt(
        "prefix",
        Spec(
            "prefix: a synthetic file pairs with the real file whose name is the longest prefix of its own "
            "(X <-> X_gen), needed for counts; none: compare the sets as unpaired samples.",
            "choice",
            "--pairing",
            choices=("prefix", "none"),
        ),
    )
    classes: tuple[str, ...] | None = _opt(
        None,
        Spec(
            "Class names in channel / label order (default: the format's own, e.g. class1..classC for arrays, "
            "lym,epi,stro for BRCA-M2C .txt). Needed when one set names its classes in its files (.csv, .geojson) "
            "and the other only numbers them (.npy, .png).",
            "list",
            "--classes",
            metavar="A,B,...",
            commands=_READ_CMDS,
            role=("evaluate", "read"),
        ),
    )
    n_jobs: int = _opt(
        1,
        Spec(
            "Worker processes (-1: all cores); the numbers do not depend on it.",
            "int",
            "--jobs",
            short="-j",
            low=-1,
            nonzero=True,
            commands=("compare", "stats"),
        ),
    )
    seed: int = _opt(
        0, Spec("Seed of every random choice (subsets, resampling groups, permutations).", "seed", "--seed")
    )
    mmd_sigma: float | None = _opt(
        None,
        Spec(
            "MMD kernel bandwidth (default: the median heuristic per class, recorded in the report).",
            "float",
            "--mmd-sigma",
            low=0.0,
            low_open=True,
        ),
    )
    mmd_samples: int | None = _opt(
        None,
        Spec(
            "Estimate MMD on N randomly drawn layouts per set (its cost grows as N²).",
            "int",
            "--mmd-samples",
            low=2,
            metavar="N",
        ),
    )
    mmd_estimator: str = _opt(
        "unbiased",
        Spec(
            "MMD estimator: unbiased (MMD², U-statistic, the default), biased (MMD², V-statistic) or paper (the "
            "published formula of TopoCellGen Suppl. Sec. 11: square root of the V-statistic with the full cross term; "
            "its σ is not published, so values are not comparable with Table 1).",
            "choice",
            "--mmd-estimator",
            choices=("unbiased", "biased", "paper"),
        ),
    )
    permutations: int = _opt(
        0,
        Spec(
            "MMD permutation test with N permutations (p-values in the table).",
            "int",
            "--permutations",
            low=0,
            metavar="N",
        ),
    )
    n_bins: int = _opt(
        100, Spec("Landscape samples per layer (TopoFD).", "int", "--n-bins", low=2, commands=("compare", "stats"))
    )
    n_layers: int = _opt(
        1,
        Spec("Landscape layers (TopoFD; the paper uses 1).", "int", "--n-layers", low=1, commands=("compare", "stats")),
    )
    fd_method: str = _opt(
        "sqrtm",
        Spec(
            "Matrix square root of the Fréchet distance: sqrtm (scipy, as published) or eig (symmetric "
            "eigendecomposition).",
            "choice",
            "--fd-method",
            choices=("sqrtm", "eig"),
        ),
    )
    threshold: float | None = _opt(
        None,
        Spec(
            "Arrays: foreground is value > THRESHOLD (grey-level or probability maps). Without it every channel "
            "must be a mask (0/1, 0/255, bool); arrays given to the Evaluator that are not masks use 0 for data "
            "with negative values and 0.5 otherwise.",
            "float",
            "--threshold",
            commands=_READ_CMDS,
            role=("evaluate", "read"),
        ),
    )
    channels: str = _opt(
        "auto",
        Spec(
            "Arrays: (H, W, C) 'last' or (C, H, W) 'first'; auto uses the smaller axis.",
            "choice",
            "--channels",
            choices=("auto", "first", "last"),
            commands=_READ_CMDS,
            role=("evaluate", "read"),
        ),
    )
    uncertainty: bool = _opt(
        True, Spec("Standard errors and 95 % intervals for every score (--no-se: values only).", "bool", "--se/--no-se")
    )
    se_groups: int = _opt(
        20,
        Spec(
            "Jackknife groups for the intervals of grid TopoFD, TopoKD and MMD.",
            "int",
            "--se-groups",
            low=2,
            metavar="G",
        ),
    )
    paper_se_splits: int = _opt(
        1,
        Spec(
            "Splits of the synthetic set into disjoint groups for the interval of paper TopoFD (each costs about "
            "a tenth of the synthetic barycenters; 0: no interval).",
            "int",
            "--paper-se-splits",
            low=0,
            metavar="B",
        ),
    )
    paper_se_groups: int = _opt(
        8, Spec("Groups per split for the interval of paper TopoFD.", "int", "--paper-se-groups", low=2, metavar="G")
    )
    extrapolate: bool = _opt(
        False,
        Spec(
            "Also report TopoFD∞, the value extrapolated to infinitely many layouts (fit against 1/n on nested "
            "subsets; paper protocol: 16 more barycenters per class, no interval).",
            "bool",
            "--extrapolate",
        ),
    )
    cache_dir: str | None = _opt(
        None,
        Spec(
            "Cache persistence diagrams here, keyed by layout contents and complex, so a real set is computed once "
            "across runs.",
            "path",
            "--cache-dir",
            commands=("compare", "stats"),
        ),
    )
    use_bundled: bool = _opt(
        True,
        Spec(
            "Take diagrams and statistics of the bundled reference sets when the real set is exactly one of them "
            "(--no-bundled recomputes them; same numbers).",
            "bool",
            "--bundled/--no-bundled",
        ),
    )
    progress: bool = _opt(
        False, Spec("Progress bars on stderr.", "bool", api_only="the CLI shows bars on a terminal unless --quiet")
    )
    train: str | None = _opt(
        None,
        Spec(
            "The generator's training layouts, for the memorisation metrics (ct, near_copies): a folder, a .topofd "
            "reference file (diagrams only: no near_copies) or a named set. Must not be the real set, which is the "
            "held-out set of the test. Given without --metrics: the default metrics and memorisation.",
            "str",
            "--train",
            metavar="PATH",
            role=(),
        ),
    )
    extractor: Any = _opt(
        None,
        Spec(
            "Feature extractor of fid, kid: a TorchScript or ONNX file mapping (B, C, 128, 128) float32 layout "
            "rasters to (B, D) features, or in Python a callable. Default: the shipped BRCA-M2C layout encoder.",
            "file_or_callable",
            "--extractor",
            metavar="FILE",
            commands=("compare", "stats"),
        ),
    )
    # ----- reading files (compare() on folders, the CLI)
    format: str = _opt(
        "auto",
        Spec(
            "Layout file format; auto picks by suffix: .npy/.npz arrays, .png colour-coded, .csv/.tsv point tables, "
            ".txt BRCA-M2C labels, .geojson/.json QuPath, .mat Lizard/CoNSeP. Files that are not layouts "
            "(README.txt, report.json, ...) are skipped and listed.",
            "choice",
            "--format",
            choices=FORMATS,
            commands=_READ_CMDS,
            role=("read",),
        ),
    )
    colors: str | None = _opt(
        None,
        Spec(
            "PNG class colours, 'name=colour' pairs or bare colours in class order. Default: red, green, blue "
            "(then yellow, magenta, cyan, orange, violet).",
            "str",
            "--colors",
            metavar="NAME=#RRGGBB,...",
            commands=_READ_CMDS,
            role=("read",),
        ),
    )
    x_col: str = _opt(
        "x", Spec("Point tables: column of x (horizontal).", "str", "--x-col", commands=_READ_CMDS, role=("read",))
    )
    y_col: str = _opt(
        "y", Spec("Point tables: column of y (vertical).", "str", "--y-col", commands=_READ_CMDS, role=("read",))
    )
    class_col: str = _opt(
        "class",
        Spec(
            "Point tables: column of the class (names, or integers 1..C).",
            "str",
            "--class-col",
            commands=_READ_CMDS,
            role=("read",),
        ),
    )
    canvas: tuple[int, int] | None = _opt(
        None,
        Spec(
            "Canvas size HxW for formats that do not store one (.csv, .txt, .geojson); cells outside it are an error.",
            "canvas",
            "--canvas",
            metavar="HxW",
            commands=_READ_CMDS,
            role=("read",),
        ),
    )
    instances: bool = _opt(
        False,
        Spec(
            "Arrays: integer channels are instance-label maps, each positive id one cell (without it, a channel "
            "with several non-zero values is an error).",
            "bool",
            "--instances",
            commands=_READ_CMDS,
            role=("read",),
        ),
    )
    skip_bad: bool = _opt(
        False,
        Spec(
            "Skip unreadable files with a warning instead of stopping.",
            "bool",
            "--skip-bad",
            commands=_READ_CMDS,
            role=("read",),
        ),
    )
    # ----- the options metric plug-ins own (register_option), by keyword
    plugin: tuple[tuple[str, Any], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        for f in _core_fields():
            object.__setattr__(
                self, f.name, check_value(f.name, f.metadata["spec"], getattr(self, f.name), f.default is None)
            )
        if self.instances and self.threshold is not None:
            raise OptionError("instances", "instance ids are not grey levels: use instances or threshold, not both")
        if self.colors is not None:
            try:
                parse_colors(self.colors)
            except ValueError as e:
                raise OptionError("colors", str(e)) from None
        if self.metrics is not None and PLUGIN_OPTIONS.resolver is not None:
            object.__setattr__(self, "metrics", PLUGIN_OPTIONS.resolver(self.metrics))
        object.__setattr__(self, "plugin", PLUGIN_OPTIONS.check(dict(self.plugin)))

    def option(self, name: str) -> Any:
        """The value of a metric plug-in's option (given, or its default)."""
        return dict(self.plugin).get(name, PLUGIN_OPTIONS.default(name))

    # ------------------------------------------------------------ views
    def reader_kwargs(self) -> dict:
        """Keyword arguments of :func:`topofd.layouts.sets.read_layouts`."""
        out: dict[str, Any] = {"format": self.format, "classes": self.classes, "skip_bad": self.skip_bad}
        if self.colors is not None:
            out["colors"] = self.colors
        for k in ("x_col", "y_col", "class_col"):
            if getattr(self, k) != DEFAULTS[k]:
                out[k] = getattr(self, k)
        if self.canvas is not None:
            out["shape"] = self.canvas
        if self.channels != "auto":
            out["channels"] = self.channels
        if self.instances:
            out["labels"] = "instance"
        if self.threshold is not None:
            out["threshold"] = self.threshold
        return out

    def recorded(self) -> dict:
        """The options a reference file stores (a comparison must match them)."""
        return {n: getattr(self, n) for n in RECORDED}

    def replace(self, **changes: Any) -> Options:
        core = {k: v for k, v in changes.items() if PLUGIN_OPTIONS.owner(k) is None}
        extra = {k: v for k, v in changes.items() if PLUGIN_OPTIONS.owner(k) is not None}
        if extra:
            core["plugin"] = {**dict(self.plugin), **extra}
        return dataclasses.replace(self, **core)

    @classmethod
    def from_kwargs(cls, options: Options | None = None, **kwargs: Any) -> Options:
        """``options`` updated with ``kwargs``; an unknown keyword is a ``TypeError`` naming the known ones."""
        known = {n for n, _, _ in all_specs()}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown option(s) {', '.join(unknown)}; options are {', '.join(sorted(known))}")
        if options is not None and not isinstance(options, cls):
            raise TypeError(
                f"options must be an Options, not {type(options).__name__} (give other options as "
                "keywords, e.g. metrics='topofd')"
            )
        base = options if options is not None else cls()
        return base.replace(**kwargs) if kwargs else base


# the options metric plug-ins own, and the registry's expansion of --metrics
# (both filled by topofd.metrics, which sits above this table)
PLUGIN_OPTIONS = PluginOptions()


def _core_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(Options) if "spec" in f.metadata]


def register_option(name: str, default: Any, spec: Spec, owner: str) -> None:
    """Add a metric plug-in's option to the table (API keyword ``name``, CLI
    flag ``spec.flag``); see :meth:`PluginOptions.add`."""
    PLUGIN_OPTIONS.add(name, default, spec, owner, taken=list(specs()))


def set_metric_resolver(resolve: Callable[[tuple[str, ...]], tuple[str, ...]]) -> None:
    """How ``metrics`` is checked and its groups expanded (the registry's ``expand``)."""
    PLUGIN_OPTIONS.resolver = resolve


def specs() -> Iterator[tuple[str, Spec, Any]]:
    """``(name, spec, default)`` of every built-in option, in table order."""
    for f in _core_fields():
        yield f.name, f.metadata["spec"], f.default


def all_specs() -> Iterator[tuple[str, Spec, Any]]:
    """``(name, spec, default)`` of every option: the built-in table, then
    the metric plug-ins' options in registration order."""
    yield from specs()
    yield from PLUGIN_OPTIONS.specs()


def option_owner(name: str) -> str | None:
    """The metric plug-in owning option ``name`` (``None``: a built-in option)."""
    return PLUGIN_OPTIONS.owner(name)


DEFAULTS = {n: d for n, _, d in specs()}
EVALUATOR = tuple(n for n, s, _ in specs() if "evaluate" in s.role)
READER = tuple(n for n, s, _ in specs() if "read" in s.role)
RECORDED = tuple(n for n, s, _ in specs() if s.recorded)
