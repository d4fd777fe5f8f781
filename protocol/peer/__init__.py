"""The Peer core: one sans-IO object per member that ties the protocol together (SPEC §11).

Deliberately empty of imports, like ``protocol.ride``: import ``protocol.peer.peer``
for ``Peer`` and ``protocol.peer.actions`` for what it asks its shell to do.
"""
