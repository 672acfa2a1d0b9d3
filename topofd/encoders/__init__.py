"""Layout encoders for FID and KID (issue 17): rasterising layouts
(:mod:`~topofd.encoders.raster`, numpy), loading an extractor and encoding
sets with it (:mod:`~topofd.encoders.extract`), training one
(:mod:`~topofd.encoders.train`, ``topofd train-encoder``).  torch is
imported inside functions only (the ``[fid]`` extra)."""
