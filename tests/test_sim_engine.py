"""The simulator's event loop: time order, stable ties, the clock, progress ticks, seeds."""

from __future__ import annotations

from sim.engine import Engine, derive_rng


def test_events_run_in_time_order_and_ties_in_scheduling_order() -> None:
    engine = Engine(start_ms=1_000)
    seen: list[tuple[int, str]] = []
    for at, name in [(1_050, "c"), (1_010, "a"), (1_050, "d"), (1_010, "b"), (1_000, "now")]:
        engine.at(at, lambda n: seen.append((engine.now_ms, n)), name)
    engine.run_until(2_000)
    assert seen == [(1_000, "now"), (1_010, "a"), (1_010, "b"), (1_050, "c"), (1_050, "d")]
    assert engine.now_ms == 2_000
    assert engine.events == 5


def test_events_scheduled_by_events_run_and_the_past_means_now() -> None:
    engine = Engine(start_ms=0)
    seen: list[tuple[int, str]] = []

    def first(_: object) -> None:
        seen.append((engine.now_ms, "first"))
        engine.after(5, lambda _: seen.append((engine.now_ms, "after")))
        engine.at(-100, lambda _: seen.append((engine.now_ms, "past")))

    engine.at(10, first)
    engine.run_until(12)
    assert seen == [(10, "first"), (10, "past")]
    assert engine.pending() == 1
    engine.run_until(100)
    assert seen[-1] == (15, "after")


def test_progress_ticks_as_virtual_time_passes() -> None:
    engine = Engine(start_ms=0)
    for at in range(0, 10_000, 700):
        engine.at(at, lambda _: None)
    ticks: list[int] = []
    engine.run_until(10_000, tick=ticks.append, tick_ms=2_000)
    # Once per 2 s of virtual time crossed by an event, and once at the end.
    assert ticks == [2_100, 4_200, 6_300, 8_400, 10_000]


def test_derived_streams_are_fixed_by_seed_and_purpose_and_independent() -> None:
    a = [derive_rng(7, "rider", 3).random() for _ in range(3)]
    assert a == [derive_rng(7, "rider", 3).random() for _ in range(3)]
    assert derive_rng(7, "rider", 3).random() != derive_rng(7, "rider", 4).random()
    assert derive_rng(7, "rider", 3).random() != derive_rng(8, "rider", 3).random()
