"""Readers: one module per file format, each producing :class:`topofd.Layout`."""
