"""Keeping what the model is shown, for the owner to review and train on: off until the owner turns it on (Settings,
or `launch.py --keep-predictions` for one start). Every place that answers a picture (Predict, the webcam, a folder,
the demo view and its links, the HTTP endpoint) hands it here; the same picture answered by several handlers of one
page is kept once, webcam frames at most once a second and only when the answer changed or is not sure. Keeping
never gets in the way of an answer: a failure to keep is logged, not raised."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

from core.runstore.folder import KEPT
from core.runstore.kept import KeepSettings, KeptStore, read_keep_settings, write_keep_settings

SETTINGS_NAME = "keeping.json"
SAME_PICTURE_S = 30.0  # a picture answered again within this long (by another handler of the page) is kept once
FRAME_EVERY_S = 1.0  # webcam frames: at most one kept a second
RECENT = 256  # pictures remembered for the check above
log = logging.getLogger(__name__)


def _digest(picture) -> str:
    """A fingerprint of the picture: its bytes, or its file's bytes, or its pixels."""
    if isinstance(picture, bytes):
        data = picture
    elif isinstance(picture, (str, Path)):
        data = Path(picture).read_bytes()
    else:
        data = picture.tobytes() + repr((picture.size, picture.mode)).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Keeper:
    """The app's switch and store for kept pictures (one per app, in its runs folder)."""

    def __init__(self, runs_dir: Path, cache_dir: Path, forced_on: bool = False) -> None:
        self.folder = Path(runs_dir) / KEPT
        self.settings_path = Path(cache_dir) / SETTINGS_NAME
        self.forced_on = forced_on
        self._lock = threading.Lock()
        self._recent: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._frames: OrderedDict[str, tuple[float, str]] = OrderedDict()  # per session: last frame kept, its answer
        self._read: tuple[object, KeepSettings] | None = None  # the settings file's stamp and what it said

    def _stored(self) -> KeepSettings:
        """The settings file, read again only when it changed (every prediction asks)."""
        try:
            stat = self.settings_path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        read = self._read
        if read is None or read[0] != stamp:
            read = self._read = (stamp, read_keep_settings(self.settings_path))
        return read[1]

    def settings(self) -> KeepSettings:
        """The owner's settings (switched on for this start by --keep-predictions, until the owner says otherwise)."""
        settings = self._stored()
        return KeepSettings(True, settings.cap_mb, settings.max_side) if self.forced_on else settings

    @property
    def on(self) -> bool:
        return self.settings().on

    def set(self, on: bool, cap_mb: int | None = None) -> KeepSettings:
        """Turn keeping on or off (and set its cap), remembered for the next starts; the owner's latest word wins
        over --keep-predictions."""
        old = read_keep_settings(self.settings_path)
        write_keep_settings(self.settings_path, KeepSettings(bool(on), int(cap_mb or old.cap_mb), old.max_side))
        self.forced_on, self._read = False, None
        return self.settings()

    def store(self) -> KeptStore:
        """The kept pictures, under the owner's cap."""
        settings = self.settings()
        return KeptStore(self.folder, settings.cap_mb, settings.max_side)

    def _seen(self, key: tuple[str, str], now: float) -> bool:
        """Whether this picture and run were kept a moment ago (and remember them now)."""
        with self._lock:
            when = self._recent.get(key)
            self._recent[key] = now
            self._recent.move_to_end(key)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return when is not None and now - when < SAME_PICTURE_S

    def keep(self, picture, run_id: str, top: list[tuple[str, float]], sure: bool, source: str) -> None:
        """Keep one answered picture when keeping is on (once, however many handlers answered it)."""
        if not self.on or not top:
            return
        try:
            if self._seen((_digest(picture), run_id), time.monotonic()):
                return
            self.store().keep(picture, run_id, list(top), not sure, source)
        except Exception as err:  # a picture it cannot keep (unreadable, disk full): the answer still goes out
            log.warning("a picture was not kept (%s: %s)", type(err).__name__, err)

    def keep_frame(self, frame, session: str, run_id: str, top: list[tuple[str, float]], sure: bool) -> None:
        """A webcam frame: at most one a second per session, and only when its answer changed or is not sure."""
        if not self.on or not top:
            return
        now, answer = time.monotonic(), top[0][0]
        with self._lock:
            last, last_answer = self._frames.get(session, (float("-inf"), ""))
            if now - last < FRAME_EVERY_S or (sure and answer == last_answer):
                return
            self._frames[session] = (now, answer)
            self._frames.move_to_end(session)
            while len(self._frames) > RECENT:  # sessions long gone
                self._frames.popitem(last=False)
        self.keep(frame, run_id, top, sure, "webcam")
