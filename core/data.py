"""Find an ImageFolder dataset on disk, decode its images safely, and feed them to torch."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset
from torchvision import transforms as T

from .errors import DatasetError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SPLIT_ALIASES = {"train": ("train",), "valid": ("valid", "val", "validation"), "test": ("test",)}
EXPECTED_LAYOUT = "expected a folder holding train/ and valid/, each with one subfolder per class, e.g. train/cat/1.jpg, train/dog/2.jpg, valid/cat/3.jpg, valid/dog/4.jpg"


@dataclass
class DatasetIndex:
    """Image files of each split with their class index; classes sorted by name as in ImageFolder."""

    root: Path
    classes: list[str]
    splits: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class for each split, for the Data tab and the run log."""
        return {
            split: {name: sum(1 for _, y in items if y == i) for i, name in enumerate(self.classes)}
            for split, items in self.splits.items()
        }


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _split_dir(root: Path, split: str) -> Path | None:
    for alias in SPLIT_ALIASES[split]:
        if (root / alias).is_dir():
            return root / alias
    return None


def _class_dirs(split_dir: Path) -> list[Path]:
    return sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def scan_dataset(root: str | Path) -> DatasetIndex:
    """Index a train/ valid/ [test/] folder, or raise DatasetError saying what was found instead."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root} does not exist; {EXPECTED_LAYOUT}")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder; {EXPECTED_LAYOUT}")
    dirs = {split: _split_dir(root, split) for split in SPLIT_ALIASES}
    if dirs["train"] is None or dirs["valid"] is None:
        found = ", ".join(sorted(p.name + "/" for p in root.iterdir() if p.is_dir())) or "no subfolders"
        raise DatasetError(f"{root} has {found}; {EXPECTED_LAYOUT}")
    classes = sorted({p.name for p in _class_dirs(dirs["train"])})
    if len(classes) < 2:
        raise DatasetError(f"{dirs['train']} has {len(classes)} class folder(s); a classifier needs at least 2")
    index = DatasetIndex(root=root, classes=classes)
    for split, split_dir in dirs.items():
        if split_dir is None:
            continue
        items = []
        for class_dir in _class_dirs(split_dir):
            if class_dir.name in classes:
                label = classes.index(class_dir.name)
                items += [(p, label) for p in sorted(class_dir.rglob("*")) if _is_image(p)]
        index.splits[split] = items
    for split in ("train", "valid"):
        if not index.splits[split]:
            raise DatasetError(f"{dirs[split]} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return index


def load_image(path: str | Path) -> Image.Image:
    """Decode an image file as upright RGB (EXIF rotation applied); raises on unreadable files."""
    with Image.open(path) as img:
        img.draft("RGB", (1024, 1024))
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "P"):
            img = img.convert("RGBA")
            background = Image.new("RGBA", img.size, (128, 128, 128, 255))
            img = Image.alpha_composite(background, img)
        return img.convert("RGB")


def eval_transform(image_size: int, mean, std) -> T.Compose:
    """Deterministic resize + centre crop used for validation and prediction."""
    return T.Compose([
        T.Resize(round(image_size * 256 / 224)),
        T.CenterCrop(image_size),
        T.ToTensor(),
        T.Normalize(mean, std),
    ])


def train_transform(image_size: int, mean, std) -> T.Compose:
    """Light augmentation for fine-tuning: random crop of most of the image and a horizontal flip."""
    return T.Compose([
        T.RandomResizedCrop(image_size, scale=(0.6, 1.0)),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize(mean, std),
    ])


class ImageFiles(Dataset):
    """(path, label) pairs decoded on access; a file that fails to decode yields None instead of raising."""

    def __init__(self, items: list[tuple[Path, int]], transform, with_position: bool = False):
        self.items = items
        self.transform = transform
        self.with_position = with_position

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        path, label = self.items[i]
        if self.with_position:
            label = (label, i)
        try:
            return self.transform(load_image(path)), label, str(path)
        except Exception as err:  # any decoder error means "skip this file", never a crashed run
            return None, label, f"{path}: {type(err).__name__}: {err}"


def collate_skipping_bad(batch):
    """Stack the decodable samples; return the bad files' descriptions alongside."""
    good = [(x, y) for x, y, _ in batch if x is not None]
    bad = [info for x, _, info in batch if x is None]
    if not good:
        return None, None, bad
    xs, ys = zip(*good)
    return torch.stack(xs), torch.tensor(ys), bad
