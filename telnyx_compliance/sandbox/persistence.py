"""Optional SQLite persistence: the store's snapshot (JSON, document bytes included) survives a restart.

Saving the whole snapshot is simple and fast enough for a demo-sized sandbox; writes are debounced to at most
one save per ``min_interval`` seconds, and the app flushes on shutdown, so a crash loses at most that window.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from .store import StoreCore


class SqlitePersistence:
    def __init__(self, path: str | Path, min_interval: float = 0.2) -> None:
        self.path = Path(path)
        self.min_interval = min_interval
        self._last_save = 0.0
        self._dirty = False
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "saved_at REAL NOT NULL, state TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def load(self) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT state FROM snapshot WHERE id = 1").fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save(self, store: StoreCore) -> None:
        state = json.dumps(store.snapshot(), separators=(",", ":"))
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO snapshot (id, saved_at, state) VALUES (1, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state",
                (time.time(), state),
            )
            self._last_save = time.monotonic()
            self._dirty = False

    def changed(self, store: StoreCore) -> None:
        if time.monotonic() - self._last_save >= self.min_interval:
            self.save(store)
        else:
            self._dirty = True

    def flush(self, store: StoreCore) -> None:
        if self._dirty:
            self.save(store)


def attach_persistence(store: StoreCore, path: str | None) -> SqlitePersistence | None:
    """Restore ``store`` from ``path`` (when it holds a snapshot) and save it there after each change."""
    if not path:
        return None
    persistence = SqlitePersistence(path)
    snapshot = persistence.load()
    if snapshot is not None:
        store.restore(snapshot)
    store.on_change = persistence.changed
    return persistence
