"""Limits of one ``/ws/live`` connection: message size, message rate and the outgoing
queue, so a hostile or broken client costs bounded memory and time (issue 16 item 5).

Design choices:

* **Size.** A message longer than :data:`MAX_MESSAGE_BYTES` is not parsed: the client
  gets an ``error`` (``message-too-large``) and the connection stays open. The largest
  valid message, a ``samples`` batch of 1000 samples with magnetometer rows written at
  full float precision, is about 250 kB, so 1 MiB leaves room. (The transport, uvicorn,
  closes the connection with code 1009 beyond its own ``ws_max_size``, 16 MiB by
  default: no message larger than that is ever held in memory.)
* **Rate.** A token bucket per connection: :data:`MESSAGE_BURST` messages at once, then
  :data:`MAX_MESSAGES_PER_S` a second. A real client sends tens of messages a second
  (a phone's batches, a replayed recording in one burst of a few thousand); a flood
  beyond the bucket gets an ``error`` (``rate-limited``) and the connection is closed
  with code 1008 (policy violation). Reading is paused by the transport while a message
  is being handled, so a flood never queues unread messages in the server.
* **Outgoing queue.** A client that stops reading while the server has things to say
  (frames at 25 Hz, errors) would grow the queue without end: beyond
  :data:`MAX_OUTBOX_MESSAGES` new messages are dropped (counted and logged once).

>>> rate = MessageRate(per_s=2.0, burst=3, clock=lambda: 0.0)
>>> [rate.allow() for _ in range(4)]
[True, True, True, False]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

#: Longest client message (bytes of UTF-8 text) that is parsed.
MAX_MESSAGE_BYTES: Final = 1024 * 1024
#: Messages a second a client may send, sustained.
MAX_MESSAGES_PER_S: Final = 1000.0
#: Messages a client may send at once (a recording replayed as fast as it goes).
MESSAGE_BURST: Final = 5000
#: Most messages waiting to go out to one client.
MAX_OUTBOX_MESSAGES: Final = 5000
#: Close code of a connection closed for flooding (RFC 6455: policy violation).
CLOSE_POLICY_VIOLATION: Final = 1008
#: Seconds the outgoing messages get to go out when the connection ends.
FLUSH_ON_CLOSE_S: Final = 5.0


class MessageRate:
    """A token bucket: ``burst`` messages at once, ``per_s`` a second after that."""

    def __init__(
        self,
        *,
        per_s: float = MAX_MESSAGES_PER_S,
        burst: int = MESSAGE_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_s <= 0 or burst < 1:
            raise ValueError(f"per_s must be above 0 and burst at least 1 ({per_s}, {burst})")
        self.per_s = per_s
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last_s = clock()

    def allow(self) -> bool:
        """True when one more message is within the limit (and counts it)."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last_s) * self.per_s)
        self._last_s = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def message_size_bytes(text: str | bytes) -> int:
    """The UTF-8 size (bytes) of a received message; for text surely under
    :data:`MAX_MESSAGE_BYTES` its length in characters (no copy made)."""
    if isinstance(text, bytes):
        return len(text)
    if len(text) * 4 <= MAX_MESSAGE_BYTES:  # at most 4 bytes a character: surely short
        return len(text)
    return len(text.encode("utf-8", errors="surrogatepass"))
