"""Tunable terms of the matching rule, with their documented defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields

from protocol.errors import ConfigError, describe


@dataclass(frozen=True, slots=True)
class MatchParams:
    """Estimates and score weights of the matching rule (docs/matching.md).

    ``road_factor`` turns straight-line distance into road distance for
    detour estimates; ``speed_mps`` is the driving speed of a detour (about
    29 km/h, urban). ``min_shared_m`` is the shortest ride worth a stop.
    The score is a weighted sum of seconds: the driver's detour, the rider's
    wait inside their window, and the rider's walk at ``walk_speed_mps``.
    Walking counts double, as transport models value out-of-vehicle time;
    waiting inside a window the rider chose counts half.
    """

    road_factor: float = 1.3
    speed_mps: float = 8.0
    walk_speed_mps: float = 1.3
    min_shared_m: float = 200.0
    detour_weight: float = 1.0
    wait_weight: float = 0.5
    walk_weight: float = 2.0

    def __post_init__(self) -> None:
        if not self.road_factor >= 1.0:
            raise ConfigError(describe("MatchParams.road_factor", self.road_factor, "must be >= 1"))
        # A shared stretch under a metre could round away, putting a drop-off at its pickup.
        if not self.min_shared_m >= 1.0:
            raise ConfigError(
                describe("MatchParams.min_shared_m", self.min_shared_m, "must be >= 1")
            )
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in {"speed_mps", "walk_speed_mps"} and not value > 0:
                raise ConfigError(describe(f"MatchParams.{f.name}", value, "must be > 0"))
            if not value >= 0:
                raise ConfigError(describe(f"MatchParams.{f.name}", value, "must be >= 0"))

    @property
    def corridor_factor(self) -> float:
        """Metres of off-route leg per metre of detour budget: 1 / (2 * road_factor)."""
        return 1.0 / (2.0 * self.road_factor)


#: The defaults, shared: ``MatchParams`` is frozen, so one instance serves every caller.
DEFAULT_PARAMS = MatchParams()
