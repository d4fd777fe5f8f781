"""Work every simulated host would repeat on the same bytes, done once for the run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import nacl.bindings


@contextmanager
def shared_signature_checks() -> Iterator[dict[bytes, bytes]]:
    """Check each distinct valid signature once for the whole simulated network.

    Every receiver of a gossiped message verifies the same Ed25519 signature
    over the same bytes: a pure function, with the same answer on every host.
    Within this block ``nacl.bindings.crypto_sign_open`` (which
    ``protocol.identity.verify`` calls) remembers the inputs that verified; a
    forged or damaged signature is never remembered, so it is checked — and
    refused — every time. Only the CPU spent changes, not any host's input,
    output or state (tests/test_sim_run.py compares runs with and without).
    """
    real = nacl.bindings.crypto_sign_open
    good: dict[bytes, bytes] = {}

    def crypto_sign_open(signed: bytes, pk: bytes) -> bytes:
        key = pk + signed
        hit = good.get(key)
        if hit is None:
            hit = real(signed, pk)
            good[key] = hit
        return hit

    nacl.bindings.crypto_sign_open = crypto_sign_open
    try:
        yield good
    finally:
        nacl.bindings.crypto_sign_open = real
