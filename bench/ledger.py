"""Ledger verification and credit against raw PyNaCl verification of the same signatures.

Workload: 100,000 co-signed ride receipts, that is 200,000 log entries (a
proposal and an agreement each), written by 2,000 drivers and 8,000 riders
over 30 days, from fixed seeds. Measured: a fresh peer catching up --
``sync.apply`` of every entry into an empty ledger (decode, verify, content
and chain rules) and then ``balances`` over all of it -- against
``crypto_sign_open`` on exactly the 200,000 signed inputs, in the same run.
Ratios are rates against the raw rate: 1.0 would mean the ledger costs
nothing beyond the signatures.
"""

from __future__ import annotations

import random
import time

import nacl.bindings

from bench.report import Result, best_of, compare
from protocol import geo
from protocol.codec import decode_envelope
from protocol.fields import CostShare, GeoPoint, H3Cell
from protocol.identity import Identity
from protocol.ledger import sync
from protocol.ledger.book import Ledger
from protocol.ledger.chain import MemberLog
from protocol.ledger.cosign import countersign, propose_receipt
from protocol.ledger.credit import balances
from protocol.ledger.receipt import Receipt

RECEIPTS = 100_000
DRIVERS = 2_000
RIDERS = 8_000
DAYS = 30
START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
DAY_MS = 86_400_000


def build(rng: random.Random) -> list[bytes]:
    """Every entry of ``RECEIPTS`` co-signed rides, in the order they were written."""
    drivers = [Identity.from_seed(rng.randbytes(32)) for _ in range(DRIVERS)]
    riders = [Identity.from_seed(rng.randbytes(32)) for _ in range(RIDERS)]
    logs = {m.public_key: MemberLog(m.public_key) for m in drivers + riders}
    cells = [
        geo.cell_of(GeoPoint.from_degrees(32.0 + rng.random() * 0.2, 34.7 + rng.random() * 0.2))
        for _ in range(200)
    ]
    ends = sorted(START_MS + rng.randrange(DAYS * DAY_MS) for _ in range(RECEIPTS))
    out = []
    for i, ended_ms in enumerate(ends):
        driver, rider = rng.choice(drivers), rng.choice(riders)
        distance_m = rng.randrange(500, 40_000)
        r = _receipt(i, driver, rider, distance_m, ended_ms, rng, cells)
        # Mostly the driver proposes at drop-off; now and then the rider does.
        proposer, signer = (rider, driver) if rng.random() < 0.1 else (driver, rider)
        proposal = propose_receipt(proposer, logs[proposer.public_key], r, ended_ms)
        agreement = countersign(
            signer, logs[signer.public_key], proposal, ended_ms + 1_000, expected=r
        )
        out += [proposal.raw, agreement.raw]
    return out


def _receipt(
    i: int,
    driver: Identity,
    rider: Identity,
    distance_m: int,
    ended_ms: int,
    rng: random.Random,
    cells: list[H3Cell],
) -> Receipt:
    duration_ms = distance_m * rng.randrange(60, 240)  # 15..60 km/h
    return Receipt(
        ride_id=i.to_bytes(16, "big"),
        offer_id=rng.randbytes(16),
        request_id=rng.randbytes(16),
        driver=driver.public_key,
        rider=rider.public_key,
        pickup_cell=rng.choice(cells),
        dropoff_cell=rng.choice(cells),
        distance_m=distance_m,
        seats=rng.choice((1, 1, 1, 2)),
        started_ms=ended_ms - duration_ms,
        ended_ms=ended_ms,
        cost=CostShare("ILS", 500, 80),
        cost_minor=500 + 80 * distance_m // 1000,
    )


def _catch_up(raws: list[bytes]) -> tuple[float, float]:
    """Seconds to apply every entry to an empty ledger, and then to compute all balances."""
    ledger = Ledger()
    t0 = time.perf_counter()
    report = sync.apply(ledger, raws)
    t1 = time.perf_counter()
    balances(ledger)
    t2 = time.perf_counter()
    assert len(report.applied) == len(raws) and not report.rejected
    return t1 - t0, t2 - t1


def run() -> list[Result]:
    rng = random.Random(2026)
    t0 = time.perf_counter()
    raws = build(rng)
    build_s = time.perf_counter() - t0
    prepared = []
    for raw in raws:
        env = decode_envelope(raw)
        prepared.append((env.signature + env.signing_input(), bytes(env.author)))
    n = len(raws)

    # The baseline: libsodium on exactly the signed bytes, with nothing else.
    # Each side runs once: 200,000 signatures take long enough (tens of
    # seconds) to need no repeats, and the bench stays within minutes.
    raw_s = best_of(lambda: [nacl.bindings.crypto_sign_open(sm, k) for sm, k in prepared], 1)
    apply_s, credit_s = _catch_up(raws)

    raw_rate = n / raw_s
    return [
        compare(
            "receipts_100k.verify_and_credit_rate", n / (apply_s + credit_s), raw_rate, "entry/s"
        ),
        compare("receipts_100k.verify_rate", n / apply_s, raw_rate, "entry/s"),
        compare("receipts_100k.credit_s", credit_s, raw_s, "s"),
        compare("receipts_100k.build_s", build_s, raw_s, "s"),
    ]
