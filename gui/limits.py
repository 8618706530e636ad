"""How much one request may upload, and how far the builder's datasets folder may grow: an app on a shared link
answers many visitors on one machine."""
from __future__ import annotations

MAX_FILE_MB = 50  # one picture added to a dataset (dropped, or unpacked from a zip)
MAX_FILES = 200  # files in one drop onto the builder or onto Predict
MAX_DATA_MB = 2000  # the builder's datasets folder (the --max-data-mb default)
FULL_UPLOAD_MB = 2048  # one upload to the full app (Gradio refuses more): a dataset .zip or a project .zip
DEMO_UPLOAD_MB = 10  # one upload to the demo view (Gradio refuses more): a picture


def max_file_size(max_file_mb: int) -> str:
    """The value of Gradio's launch(max_file_size=...) for a per-file limit in MB."""
    return f"{int(max_file_mb)}mb"
TOP_K = 3  # classes shown with each answer (Predict, the demo view, a folder's CSV)
