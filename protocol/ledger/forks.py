"""Fork proofs: two signed entries of one author at one ``seq`` (SPEC §9).

An honest member appends one entry per ``seq`` and never signs another. Two
different signed entries at the same ``seq`` prove the author showed different
histories to different peers; anyone can check the proof with the author's key
alone, so it is gossiped and every honest peer freezes that author's credit
from that ``seq`` on (SPEC §9.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.envelope import Signed
from protocol.errors import InvalidMessage, describe
from protocol.fields import PublicKey
from protocol.identity import member_id
from protocol.ledger.chain import open_entry
from protocol.ledger.errors import NotAFork, WrongAuthor
from protocol.ledger.wire import ForkProof, LogEntry
from protocol.opening import open_signed
from protocol.wire import GOSSIP_LIMITS, DecodeLimits

_FORK_KINDS = {ForkProof.KIND: ForkProof}


@dataclass(frozen=True, slots=True)
class Fork:
    """A verified fork: ``author`` signed two different entries at ``seq``."""

    author: PublicKey
    seq: int
    proof: ForkProof


def fork_proof(a: Signed[LogEntry], b: Signed[LogEntry]) -> ForkProof:
    """The one proof of two conflicting entries: the lower entry id goes first."""
    first, second = sorted((a, b), key=lambda e: e.message_id)
    return ForkProof(first=first.raw, second=second.raw)


def verify_fork(proof: ForkProof) -> Fork:
    """Check a fork proof (SPEC §9.1) and say whose fork it proves, or raise why not.

    Both entries must be well-typed and signed (the content rules of SPEC §8.4
    step 5 do not matter: a signature is a signature), by one author, at one
    ``seq``, with different ids, in ascending id order.
    """
    a = open_entry(proof.first)
    b = open_entry(proof.second)
    if a.author != b.author:
        raise WrongAuthor(
            describe(
                "ForkProof.second",
                member_id(b.author),
                f"must be by the first entry's author {member_id(a.author)}",
            )
        )
    if a.message.seq != b.message.seq:
        raise NotAFork(
            describe("ForkProof.second", f"<seq {b.message.seq}>", f"must be seq {a.message.seq}")
        )
    if a.message_id == b.message_id:
        raise NotAFork(describe("ForkProof.second", "<same entry>", "must differ from first"))
    if a.message_id > b.message_id:
        raise InvalidMessage(
            describe("ForkProof.first", "<entry id>", "entry ids must ascend: first < second")
        )
    return Fork(author=a.author, seq=a.message.seq, proof=proof)


def open_fork(raw: bytes, limits: DecodeLimits = GOSSIP_LIMITS) -> Fork:
    """A ``ledger.fork`` message as gossiped (SPEC §9.3): its envelope, then the proof.

    Steps 1-4 of the gossip pipeline (size, decode, header, the reporter's
    signature), then ``verify_fork``. A fork proof never expires and carries
    no time, so freshness does not apply; a proof whose author is already
    known to have forked at or below its ``seq`` adds nothing.
    """
    proof = open_signed(raw, _FORK_KINDS, limits).message
    assert isinstance(proof, ForkProof)
    return verify_fork(proof)
