"""topofd: topological evaluation of generated multi-class cell layouts."""
from .layout import Layout

__version__ = "0.1.0"
__all__ = ["Layout", "__version__"]
