"""Which gossip topics a Peer subscribes to, recomputed whenever that can change (SPEC §4.3).

Each area cell has two topics, one per side. A Peer hears:

- the ledger topic, always;
- with ``listen = "all"``, both sides of every home cell, always;
- with ``listen = "needed"``, the home cells' offers while it has an open
  request, and their requests while it has an open offer;
- for each open own offer, the requests of every cell its route crosses, and
  for each open own request, the offers of its pickup's cell.

A booked, expired or withdrawn item needs nothing (a booked one that reopens
needs its topics again). Publishing needs no subscription (gossipsub fanout).
"""

from __future__ import annotations

from protocol import geo
from protocol.peer.actions import Action, Subscribe, Unsubscribe
from protocol.peer.core import LEDGER_TOPIC, Core


def wanted(core: Core) -> set[str]:
    """The topics ``core`` needs now."""
    topics = {LEDGER_TOPIC}
    everything = core.params.listen == "all"
    offering = False
    for offer in core.offers.values():
        if offer.status == "open":
            offering = True
            topics.update(offer.listens)
    requesting = False
    for request in core.requests.values():
        if request.status == "open":
            requesting = True
            topics.add(request.listens)
    if everything or requesting:
        topics.update(geo.area_topics(core.home_cells, "offers"))
    if everything or offering:
        topics.update(geo.area_topics(core.home_cells, "requests"))
    return topics


def update(core: Core) -> list[Action]:
    """Subscribe to what is newly needed and leave what no longer is.

    Before ``start`` nothing is emitted: ``start`` subscribes to all of it.
    """
    want = wanted(core)
    if not core.started:
        core.topics = want
        return []
    gone, new = sorted(core.topics - want), sorted(want - core.topics)
    core.topics = want
    return [*(Unsubscribe(t) for t in gone), *(Subscribe(t) for t in new)]
