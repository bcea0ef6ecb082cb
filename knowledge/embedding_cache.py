"""A folder of cached sentence embeddings, so restarts and reloads of a large base are fast.

Each text's vector is one `.npy` file named by sha256(model id, text): a changed article misses
only on its changed texts, a different model never reads another model's vectors, and nothing
needs invalidating. Files are written to a temporary name and renamed into place, so processes
sharing the folder never see half a file; a damaged file is treated as a miss and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from knowledge.embedding import Encoder, Vectors

log = logging.getLogger(__name__)


def cache_key(model_id: str, text: str) -> str:
    """The file stem for one text; the NUL keeps ("ab", "c") and ("a", "bc") apart."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()


class EmbeddingCache:
    """Embeddings on disk under `folder`, read before encoding and written after.

    `hits` and `misses` count texts since creation, for logs and tests.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0

    def embed(self, encoder: Encoder, texts: Sequence[str]) -> Vectors:
        """One row per text, in order; only texts not on disk are encoded (in one batch)."""
        out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
        keys = [cache_key(encoder.model_id, text) for text in texts]
        todo: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            vector = self._read(key, encoder.dim)
            if vector is None:
                todo.setdefault(texts[i], []).append(i)
            else:
                out[i] = vector
        self.hits += len(texts) - sum(len(rows) for rows in todo.values())
        self.misses += len(todo)
        if todo:
            fresh = encoder.encode(list(todo))
            for vector, rows in zip(fresh, todo.values(), strict=True):
                out[rows] = vector
                self._write(keys[rows[0]], vector)
        return out

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def _read(self, key: str, dim: int) -> Vectors | None:
        path = self._path(key)
        try:
            vector = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable cached embedding, re-encoding (%s)", path, exc)
            return None
        if vector.shape != (dim,) or vector.dtype != np.float32:
            log.warning("%s: cached embedding has shape %s, re-encoding", path, vector.shape)
            return None
        result: Vectors = vector
        return result

    def _write(self, key: str, vector: Vectors) -> None:
        """Write beside the target, then rename: readers see the old file or the whole new one."""
        path = self._path(key)
        temporary: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                np.save(file, vector, allow_pickle=False)
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("%s: cannot cache embedding (%s); matching goes on without it", path, exc)
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)


class TunedLayersStore:
    """Tuned top-layer weights on disk under `folder/tuned`, one `.npz` per key, so a restart with
    the same examples loads them instead of training again.

    `latest.json` names the last weights saved for each lineage (base model and tuning settings)
    with the hashes of the (article, text) pairs they were trained on: after a restart with a
    slightly edited base, `latest` lets the tuner reuse them rather than retrain for one edit.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder) / "tuned"

    def load(self, key: str) -> dict[str, Vectors] | None:
        path = self.folder / f"{key}.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            log.warning("%s: unreadable tuned weights, tuning again (%s)", path, exc)
            return None

    def save(self, key: str, arrays: dict[str, Vectors], lineage: str, pairs: list[str]) -> None:
        """Write the weights, then point `latest.json` at them for `lineage`."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            replace_atomically(
                self.folder / f"{key}.npz", lambda f: np.savez(f, allow_pickle=False, **arrays)
            )
            latest = self._latest()
            latest[lineage] = {"key": key, "pairs": pairs}
            text = json.dumps(latest).encode()
            replace_atomically(self.folder / "latest.json", lambda f: f.write(text))
        except OSError as exc:
            log.warning(
                "%s: cannot cache tuned weights (%s); they are used uncached", self.folder, exc
            )

    def latest(self, lineage: str) -> tuple[str, list[str]] | None:
        """The key and pair hashes of the last weights saved for `lineage`, if still on disk."""
        entry = self._latest().get(lineage)
        if not isinstance(entry, dict) or not (self.folder / f"{entry.get('key')}.npz").is_file():
            return None
        return str(entry["key"]), [str(p) for p in entry.get("pairs", [])]

    def _latest(self) -> dict[str, Any]:
        try:
            found = json.loads((self.folder / "latest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}


def replace_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write beside `path`, then rename: readers see the old file or the whole new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
