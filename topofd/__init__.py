"""topofd: topological evaluation of generated multi-class cell layouts.

``topofd.compare(real, synth)`` scores a synthetic set of cell layouts against
a real one (TopoFD, TopoKD, MMD, cell count errors), each score with its
standard error and 95 % interval; ``topofd.Evaluator`` is the same
computation fed batch by batch (inside a training or sampling loop);
``topofd.Options`` is the one table of options.  Layers: ``tda`` (pure
persistence maths), ``stats`` (intervals, extrapolation), ``metrics`` (one
plug-in per metric), ``layouts`` (Layout, readers, matching, BRCA-M2C),
``storage`` (cache, reference files, atomic writes), ``output`` (report,
HTML, plots, leaderboard), ``cli`` (the command line).
"""

from topofd.api import compare
from topofd.evaluator import Evaluator
from topofd.layouts.layout import Layout
from topofd.options import Options
from topofd.output.report import Report
from topofd.version import __version__

__all__ = ["Layout", "Options", "compare", "Evaluator", "Report", "__version__"]
