"""Transfer Studio's Gradio front end; all training and prediction logic lives in `core`."""
from .app import build_app, start
from .context import AppContext

__all__ = ["AppContext", "build_app", "start"]
