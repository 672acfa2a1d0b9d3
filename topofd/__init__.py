"""topofd: topological evaluation of generated multi-class cell layouts.

``topofd.compare(real, synth)`` scores a synthetic set of cell layouts against
a real one with TopoFD, MMD and cell count errors; the modules
``persistence``, ``wasserstein``, ``barycenter``, ``landscapes``,
``frechet``, ``topo_fd``, ``mmd`` and ``counts`` hold the computations,
each taking and returning arrays.
"""
from .layout import Layout

__version__ = "0.1.0"


def compare(real, synth, **kwargs):
    """See :func:`topofd.api.compare`."""
    from .api import compare as _compare

    return _compare(real, synth, **kwargs)


compare.__doc__ = None  # filled below for help()
from .api import Report, compare  # noqa: E402,F811

__all__ = ["Layout", "compare", "Report", "__version__"]
