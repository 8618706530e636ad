"""Evaluation: a trained run's predictions on a split rebuilt from its split.json (predictions), the metrics
queried from them (metrics, fastai's interpretation-as-an-object), what to try next (diagnosis) and Grad-CAM."""
