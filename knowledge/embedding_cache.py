"""A folder of cached sentence embeddings, so restarts and reloads of a large base are fast.

Each text's vector is one `.npy` file named by sha256(model id, text): a changed article misses
only on its changed texts, a different model never reads another model's vectors, and nothing
needs invalidating. Files are written to a temporary name and renamed into place, so processes
sharing the folder never see half a file; a damaged file is treated as a miss and rewritten.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

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
