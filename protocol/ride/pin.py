"""The pickup PIN: the rider's phone shows it, the rider says it, the driver types it.

The rider reveals only ``pin_hash`` to the driver, so the driver's phone can
check the typed PIN offline. Four digits can be brute-forced from the hash;
that is accepted (SPEC §7.7): the PIN tells an honest driver that the person
getting in is the rider who booked, and a driver who skips it gains nothing,
because no receipt counts without the rider's own signature.
"""

from __future__ import annotations

import hashlib
import hmac
import random

PIN_DIGITS = 4
_PERSON = b"lazooz/ride-pin"


def new_pin(rng: random.Random) -> str:
    """A fresh PIN, ``PIN_DIGITS`` decimal digits with leading zeros."""
    return f"{rng.randrange(10**PIN_DIGITS):0{PIN_DIGITS}d}"


def is_pin(text: str) -> bool:
    return len(text) == PIN_DIGITS and text.isascii() and text.isdigit()


def pin_hash(ride_id: bytes, pin: str) -> bytes:
    """BLAKE2b-256 of ``ride_id || ascii(pin)``: the ride id keeps one PIN's hash
    from matching across rides."""
    return hashlib.blake2b(ride_id + pin.encode("ascii"), digest_size=32, person=_PERSON).digest()


def pin_matches(ride_id: bytes, pin: str, digest: bytes) -> bool:
    return is_pin(pin) and hmac.compare_digest(pin_hash(ride_id, pin), digest)
