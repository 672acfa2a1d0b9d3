"""Pure persistence maths, arrays in and arrays out: diagrams (persistence),
Wasserstein distances and barycenters (with the compiled exact solver),
landscapes, the Fréchet distance and the Gaussian summaries TopoFD compares.
Nothing here knows about files, options or reports."""
