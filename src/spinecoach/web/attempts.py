"""Wrong secrets cost time (issue 16: 2,000 wrong ingest tokens were tried in 2.7 s):
:class:`AttemptLimiter`, a back-off per client address.

A client may get a secret wrong ``max_failures`` times; each further failure blocks the
client for twice as long as the one before (``base_block_s``, 2×, 4×, … up to
``max_block_s``), and while blocked *every* attempt of that client is refused at once
with HTTP 429 and ``Retry-After``, the right secret too — so guessing costs the attacker
time, not the server work. A success forgets the client's failures; failures older than
``window_s`` are forgotten. At most ``max_clients`` addresses are remembered (the oldest
go first), so a flood of addresses costs bounded memory.

The key is the client's address as the server sees it: behind a reverse proxy every
client has the proxy's address and shares one back-off (stated in docs/security.md).
The same limiter will guard the login when accounts come.

>>> now = [0.0]
>>> limiter = AttemptLimiter(max_failures=2, base_block_s=1.0, clock=lambda: now[0])
>>> for _ in range(3):
...     limiter.failed("10.0.0.7")
>>> limiter.blocked_for_s("10.0.0.7"), limiter.blocked_for_s("10.0.0.8")
(1.0, 0.0)
>>> now[0] = 1.5; limiter.blocked_for_s("10.0.0.7")
0.0
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["AttemptLimiter"]


@dataclass
class _Record:
    failures: int
    last_failure_s: float
    blocked_until_s: float


class AttemptLimiter:
    """Back-off for wrong secrets, per client (see the module docstring)."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 60.0,
        base_block_s: float = 1.0,
        max_block_s: float = 300.0,
        max_clients: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.base_block_s = base_block_s
        self.max_block_s = max_block_s
        self.max_clients = max_clients
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def blocked_for_s(self, client: str) -> float:
        """Seconds ``client`` must still wait (0.0: it may try)."""
        record = self._records.get(client)
        if record is None:
            return 0.0
        return max(0.0, record.blocked_until_s - self._clock())

    def failed(self, client: str) -> None:
        """``client`` gave a wrong secret."""
        now = self._clock()
        record = self._records.pop(client, None)
        if record is None or now - record.last_failure_s > self.window_s:
            record = _Record(0, now, now)
        record.failures += 1
        record.last_failure_s = now
        over = record.failures - self.max_failures
        if over > 0:
            block_s = min(self.max_block_s, self.base_block_s * 2.0 ** min(over - 1, 30))
            record.blocked_until_s = now + block_s
        self._records[client] = record  # the most recent last
        while len(self._records) > self.max_clients:
            self._records.popitem(last=False)

    def succeeded(self, client: str) -> None:
        """``client`` gave the right secret: its failures are forgotten."""
        self._records.pop(client, None)
