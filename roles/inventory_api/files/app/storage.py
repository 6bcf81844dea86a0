"""The inventory as one JSON object {item: quantity} in a file on the data volume.

Writes go to a temp file in the same directory, are fsynced and renamed over the old file, so a crash
or a redeploy never leaves a half-written inventory. A lock on the data directory itself serialises
writers across gunicorn workers and threads: no lock file, so none left behind by an earlier run as
root can stop the app. A file that cannot be parsed is never overwritten: every call fails instead,
so nothing is lost by accident.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


class StoreError(Exception):
    """The data file exists but cannot be used."""


class ItemExists(Exception):
    """POST of an item that is already there."""


class InventoryStore:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, int]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc.strerror}") from exc
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise StoreError(f"{self.path} is not valid JSON ({exc}); fix or move it, it is left untouched") from exc
        if not isinstance(data, dict):
            raise StoreError(f"{self.path} must hold a JSON object {{item: quantity}}; it is left untouched")
        return data

    def get(self, item: str) -> int | None:
        return self.load().get(item)

    def put(self, item: str, quantity: int, *, create_only: bool = False) -> bool:
        """Set the quantity; True when the item was new. create_only raises ItemExists for a known item."""
        with self._locked():
            data = self.load()
            created = item not in data
            if create_only and not created:
                raise ItemExists(item)
            data[item] = quantity
            self._write(data)
            return created

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        directory = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(directory, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(directory, fcntl.LOCK_UN)
        finally:
            os.close(directory)

    def _write(self, data: dict[str, int]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o640)  # mkstemp's 0600 would hide the data from the host's admin group
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        # The rename itself must reach the disk too, or a power cut could bring back the old file.
        with contextlib.suppress(OSError):
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
