"""The members of a simulated city: riders, drivers and adversaries, each one Peer.

Agents never model the protocol: every step is a command of their own
``protocol.peer.Peer`` (through ``sim.network.Network.command``), and they
react to the Peer's ``Notify`` events. ``policy`` holds the honest riders'
and drivers' behaviour; ``adversaries`` the spammers, colluders and the
equivocating author.
"""
