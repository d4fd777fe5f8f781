"""The ride handshake between one rider and one driver (SPEC §7, docs/handshake.md).

Deliberately empty of imports: ``protocol.codec`` imports ``protocol.ride.wire``,
and an eager package import here would close a cycle.
"""
