"""Inference: load a trained run and give top-k classes for images on the fastest engine (Predictor, cache)."""
