"""The session record: append-only JSON lines, each flushed and fsynced before the controller goes on.

A crash of the host loses nothing already written: every state change, measurement and the delivered
energy per wavelength are on disk by the time the next control step starts.
"""

import json
import os
import time
from pathlib import Path
from typing import IO, Any


class SessionRecord:
    """Append-only record of one treatment session (in memory, and in a file when `path` is given)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self._file: IO[str] | None = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115
        if path and self._file is not None and _ends_mid_line(Path(path)):
            self._file.write("\n")  # a line cut by a crash stays alone on its line (read_record skips it)

    def write(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append one entry of `kind` with `fields`; returns it."""
        entry = {"kind": kind, "wall_time": time.time(), **fields}
        self.entries.append(entry)
        if self._file is not None:
            self._file.write(json.dumps(entry, sort_keys=True) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        return entry

    def close(self) -> None:
        """Close the file (the entries stay readable in memory)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _ends_mid_line(path: Path) -> bool:
    """True when the file's last byte is not a newline (its last line was cut by a crash)."""
    with path.open("rb") as file:
        if file.seek(0, os.SEEK_END) == 0:
            return False
        file.seek(-1, os.SEEK_END)
        return file.read(1) != b"\n"


def read_record(path: str | Path) -> list[dict[str, Any]]:
    """The entries of a record file; a last line cut by a crash is ignored."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries
