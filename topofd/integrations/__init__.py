"""Adapters of :class:`topofd.Evaluator` to other toolkits' conventions.

``topofd.integrations.torchmetrics``: a ``torchmetrics.Metric`` whose state
is gathered across DDP ranks (needs ``pip install 'topofd[torchmetrics]'``).

Nothing is imported here: ``import topofd.integrations`` stays free of
torch, and each adapter imports its toolkit only when it is imported itself.
"""
