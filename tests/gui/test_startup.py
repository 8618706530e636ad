import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_building_the_app_does_not_import_torch(tmp_path):
    """Startup cost: the page is served on Gradio's import time alone; torch loads in the background."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gui import AppContext, build_app\n"
        f"ctx = AppContext(data_root=Path({str(tmp_path)!r}), runs_dir=Path({str(tmp_path)!r}) / 'runs',"
        f" initial_dataset=Path({str(tmp_path)!r}))\n"
        "build_app(ctx)\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
