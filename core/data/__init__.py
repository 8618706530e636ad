"""Data: finding a dataset's images (scan), decoding them (images), transforms and datasets for torch,
the health check, the in-app dataset builder and the bundled demo set. Imports nothing else from core but
errors, events and system."""
