"""Query encoding batched across threads: concurrent reports share one pass through the model.

Encoding one short report costs about as much Python and numpy overhead as encoding eight (the
matrices are tiny, the per-layer work is fixed), so under load the listener threads each
encoding their own report waste most of a core. `BatchingEncoder` wraps any `Encoder`: a call
joins the batch being gathered, and the first caller of a batch (its leader) encodes them all
with one call of the wrapped encoder and hands each caller its own rows. The leader waits for
company only while another batch is being encoded (then reports are arriving faster than they
are encoded), for at most `max_wait` or until `max_texts` wait; alone, it goes at once, so a
quiet bot pays no latency for the batching. The wrapped encoder orders a batch by
length itself (`BertEncoder` sorts by token count), so padding stays short. Large calls (a
knowledge base being indexed) go straight through. Nothing is cached and nothing is dropped: an
error reaches every caller of its batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from knowledge.embedding import Encoder, Vectors

MAX_WAIT_SECONDS = 0.002
"""How long a batch's leader waits for company: short next to the ~10 ms a report takes."""
MAX_TEXTS = 16
"""A batch runs at once when this many texts wait; a call with more texts is not batched."""


@dataclass
class _Call:
    """One caller's texts, and what became of them."""

    texts: Sequence[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: Vectors | None = None
    error: BaseException | None = None


class BatchingEncoder:
    """An `Encoder` whose concurrent `encode` calls are served by one call of `inner`."""

    def __init__(
        self,
        inner: Encoder,
        *,
        max_wait: float = MAX_WAIT_SECONDS,
        max_texts: int = MAX_TEXTS,
    ) -> None:
        if max_wait < 0 or max_texts < 1:
            raise ValueError(
                f"BatchingEncoder needs max_wait >= 0 and max_texts >= 1, "
                f"not {max_wait} and {max_texts}"
            )
        self.inner = inner
        self.max_wait = max_wait
        self.max_texts = max_texts
        self._changed = threading.Condition()
        self._gathering: list[_Call] = []
        self._waiting_texts = 0
        self._has_leader = False
        self._encoding = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Rows for `texts`, exactly as `inner.encode(texts)` would give them."""
        if not texts or len(texts) >= self.max_texts:
            return self.inner.encode(texts)
        call = _Call(texts)
        if self._join(call):
            self._run(self._gather())
        else:
            call.done.wait()
        if call.error is not None:
            raise call.error
        assert call.vectors is not None
        return call.vectors

    def _join(self, call: _Call) -> bool:
        """Add `call` to the batch being gathered; True when this caller is to lead it."""
        with self._changed:
            self._gathering.append(call)
            self._waiting_texts += len(call.texts)
            if self._waiting_texts >= self.max_texts:
                self._changed.notify_all()
            if self._has_leader:
                return False
            self._has_leader = True
            return True

    def _gather(self) -> list[_Call]:
        """The leader's wait for company; the batch is closed when it returns, so callers
        arriving while it is encoded gather the next one under a leader of their own."""
        deadline = time.monotonic() + self.max_wait
        with self._changed:
            while self._encoding and self._waiting_texts < self.max_texts:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            batch, self._gathering = self._gathering, []
            self._waiting_texts = 0
            self._has_leader = False
            self._encoding += 1
        return batch

    def _run(self, batch: list[_Call]) -> None:
        """Encode the batch in one call and give each caller its rows, or the error."""
        try:
            texts = [text for call in batch for text in call.texts]
            vectors = self.inner.encode(texts)
            if len(vectors) != len(texts):
                raise RuntimeError(
                    f"{self.inner.model_id} returned {len(vectors)} rows for {len(texts)} texts"
                )
            start = 0
            for call in batch:
                end = start + len(call.texts)
                call.vectors = np.ascontiguousarray(vectors[start:end])
                start = end
        except BaseException as exc:  # every caller of the batch raises it, the leader too
            for call in batch:
                call.error = exc
        finally:
            for call in batch:
                call.done.set()
            with self._changed:
                self._encoding -= 1
                self._changed.notify_all()
