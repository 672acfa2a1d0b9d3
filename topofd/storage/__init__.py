"""Storage: content keys, the one atomic writer, npz arrays, the on-disk
cache and .topofd reference files."""
