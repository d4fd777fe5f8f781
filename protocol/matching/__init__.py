"""Route matching: which offers suit which requests, ranked, and who rides with whom.

The rule is stated in docs/matching.md (SPEC §6). ``evaluate`` decides one
pair; ``OfferIndex`` finds every pair's candidates in bulk with the same
rule; ``match_batch`` assigns requests to offers, pooling riders.
"""

from protocol.matching.batch import Assignment, match_batch
from protocol.matching.index import OfferIndex, all_pairs
from protocol.matching.outcome import Candidate, Misfit, Rejected
from protocol.matching.params import DEFAULT_PARAMS, MatchParams
from protocol.matching.places import OpenOffer, OpenRequest, Place
from protocol.matching.plan import join, retimed
from protocol.matching.rule import evaluate

__all__ = [
    "DEFAULT_PARAMS",
    "Assignment",
    "Candidate",
    "MatchParams",
    "Misfit",
    "OfferIndex",
    "OpenOffer",
    "OpenRequest",
    "Place",
    "Rejected",
    "all_pairs",
    "evaluate",
    "join",
    "match_batch",
    "retimed",
]
