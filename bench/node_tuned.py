"""``python -m bench.node_tuned daemon ...``: ``lazooz daemon``, py-libp2p's per-message costs cut.

An experiment, not a fix: it measures what the changes proposed in
docs/bench.md ("Why 50 nodes miss the target") would buy, without touching
``lazooz/``. ``node_gossip`` runs it instead of ``lazooz daemon`` when
``BENCH_GOSSIP_DAEMON=tuned``. Before the CLI starts, it:

1. sets ``PY_YAMUX_RELEASE_ON_READ=0``: yamux sends a window update when
   half the window is consumed, not after every read (py-libp2p's own knob);
2. verifies a peer's signed peer record once per distinct record, not on
   every pubsub RPC (``maybe_consume_signed_record``);
3. reuses this host's own signed record for 10 s instead of rebuilding its
   address list for every RPC (``env_to_send_in_RPC``);
4. sends no gossipsub IDONTWANT (our messages are < 1 KB).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

#: Own-record reuse, seconds; listen addresses do not change in a bench run.
RECORD_TTL_S = 10.0
#: Distinct peer records remembered before the memo starts over.
MEMO_SIZE = 4096


def tune() -> None:
    """Apply the four changes to py-libp2p in this process (before any host starts)."""
    os.environ.setdefault("PY_YAMUX_RELEASE_ON_READ", "0")
    from libp2p.pubsub import gossipsub

    consume = getattr(gossipsub, "maybe_consume_signed_record")  # noqa: B009
    seen: set[tuple[Any, bytes]] = set()

    def consume_once(msg: Any, host: Any, peer_id: Any) -> bool:
        if not msg.HasField("senderRecord"):
            return True
        key = (peer_id, bytes(msg.senderRecord))
        if key in seen:
            return True
        ok: bool = consume(msg, host, peer_id)
        if ok:
            if len(seen) >= MEMO_SIZE:
                seen.clear()
            seen.add(key)
        return ok

    own = getattr(gossipsub, "env_to_send_in_RPC")  # noqa: B009
    cached: dict[int, tuple[float, bytes]] = {}

    def own_record(host: Any) -> tuple[bytes, bool]:
        now = time.monotonic()
        hit = cached.get(id(host))
        if hit is not None and now - hit[0] < RECORD_TTL_S:
            return hit[1], False
        envelope, made = own(host)
        cached[id(host)] = (now, envelope)
        return envelope, made

    async def no_idontwant(self: Any, msg_id: bytes, topic_ids: Any) -> None:
        return None

    # setattr: these are module globals gossipsub looks up at each call.
    setattr(gossipsub, "maybe_consume_signed_record", consume_once)  # noqa: B010
    setattr(gossipsub, "env_to_send_in_RPC", own_record)  # noqa: B010
    setattr(gossipsub.GossipSub, "_emit_idontwant_for_message", no_idontwant)  # noqa: B010


def main() -> None:
    tune()
    from lazooz.cli import app

    sys.argv[0] = "lazooz"
    app()


if __name__ == "__main__":
    main()
