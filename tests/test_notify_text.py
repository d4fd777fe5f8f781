"""What a person reads for each notification (``lazooz.node.notify_text``), and the command
template that carries it (``lazooz.node.notify_command``): filled verbatim, never parsed again."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from lazooz.control import views
from lazooz.node.notify_command import NOTIFY_SEND, BadTemplate, Template
from lazooz.node.notify_text import EVENTS, Message, describe, needs_ride
from protocol.fields import PublicKey, TimeWindow
from protocol.identity import Identity, member_id
from protocol.matching import Candidate
from protocol.peer.notices import (
    BalanceChanged,
    CandidatesFound,
    ForkFound,
    InputRejected,
    Match,
    Notification,
    OwnClosed,
    RideUpdated,
)
from protocol.ride.actions import Notice
from protocol.ride.states import RideState, Role

DRIVER = PublicKey(Identity.from_seed(b"\x01" * 32).public_key)
RIDER = PublicKey(Identity.from_seed(b"\x02" * 32).public_key)
RIDE = b"\xab" * 16
PICKUP_MS = int(datetime(2030, 5, 6, 8, 15).timestamp() * 1000)


def candidate(pickup_ms: int = PICKUP_MS) -> Candidate:
    return Candidate(
        offer_id=b"\x0f" * 16,
        request_id=b"\x0e" * 16,
        score=1.0,
        pickup_along_m=100.0,
        dropoff_along_m=2_000.0,
        walk_m=50.0,
        detour_m=120.0,
        detour_s=30.0,
        wait_s=60.0,
        pickup_ms=pickup_ms,
        shared_m=1_900.0,
        cost_minor=650,
        seats=1,
        window=TimeWindow(pickup_ms - 60_000, pickup_ms + 600_000),
        pickup_detour_m=60.0,
        dropoff_detour_m=60.0,
        pickup_reach_m=(100.0, 100.0),
    )


def match() -> Match:
    return Match(candidate(), DRIVER, RIDER, exact=True)


def update(role: Role, notice: Notice, **detail: object) -> RideUpdated:
    return RideUpdated(
        ride_id=RIDE,
        role=role,
        notice=notice,
        state=RideState.CONFIRMED,
        counterparty=RIDER if role is Role.DRIVER else DRIVER,
        offer_id=b"\x0f" * 16,
        request_id=b"\x0e" * 16,
        **detail,  # type: ignore[arg-type]
    )


def said(note: Notification, ride: dict[str, object] | None = None, **kw: bool) -> Message:
    return describe(views.notification(note), ride, **kw)


def test_the_rider_learns_the_ride_is_confirmed_with_the_driver_and_the_pickup_time() -> None:
    note = update(Role.RIDER, Notice.CONFIRMED)
    assert needs_ride(views.notification(note))
    m = said(note, {"pickup_ms": PICKUP_MS})
    assert (m.event, m.title, m.alert, m.ride) == ("confirmed", "Ride confirmed", True, RIDE.hex())
    assert member_id(DRIVER)[:12] in m.body and "08:15" in m.body and "PIN" in m.body
    # without the ride (not found): still the news, without a time
    assert said(note).body.startswith(f"Driver {member_id(DRIVER)[:12]}… picks you up:")


def test_what_a_person_just_did_themselves_does_not_alert_and_what_the_other_did_does() -> None:
    assert not said(update(Role.RIDER, Notice.PROPOSED)).alert  # the rider proposed
    asked = said(update(Role.DRIVER, Notice.PROPOSED))
    assert asked.alert and asked.title == "Ride request" and member_id(RIDER)[:12] in asked.body
    assert not said(update(Role.DRIVER, Notice.CONFIRMED)).alert  # the driver confirmed
    assert said(update(Role.RIDER, Notice.ACCEPTED)).alert
    assert not said(update(Role.DRIVER, Notice.PICKED_UP)).alert
    assert said(update(Role.RIDER, Notice.PICKED_UP)).alert
    assert said(update(Role.RIDER, Notice.RECEIPT_NEEDED)).title == "Countersign the receipt"
    assert not said(update(Role.DRIVER, Notice.RECEIPT_NEEDED)).alert  # the node signs it
    for role in Role:
        assert said(update(role, Notice.DONE)).alert


def test_the_pin_is_shown_unless_the_member_keeps_it_off_the_command_line() -> None:
    note = update(Role.RIDER, Notice.PIN_SHOWN, pin="4821")
    assert "4821" in said(note).body
    hidden = said(note, show_pin=False)
    assert hidden.alert and "4821" not in hidden.body and "open lazooz" in hidden.body
    assert said(update(Role.DRIVER, Notice.PIN_REJECTED, attempts_left=2)).body == (
        "The PIN did not match: 2 tries left."
    )


def test_the_driver_is_asked_to_confirm_only_when_the_points_fit() -> None:
    fits = said(update(Role.DRIVER, Notice.REVEALED, check=match()))
    assert fits.alert and fits.title == "Confirm the pickup" and "08:15" in fits.body
    misfit = update(Role.DRIVER, Notice.REVEALED, reason="pickup is off the route")
    assert not said(misfit).alert  # the node declines by itself


def test_an_ending_alerts_unless_this_person_chose_it() -> None:
    by_driver = said(update(Role.RIDER, Notice.DECLINED, by=Role.DRIVER, reason="NO_SEATS"))
    assert by_driver.alert and by_driver.title == "Ride declined"
    assert by_driver.body == f"Driver {member_id(DRIVER)[:12]}… declined the ride (no seats)."
    mine = said(update(Role.RIDER, Notice.CANCELLED, by=Role.RIDER, reason="CHANGED_MIND"))
    assert not mine.alert and mine.body == "You cancelled the ride (changed mind)."
    timed_out = said(update(Role.RIDER, Notice.CANCELLED, by=Role.RIDER, reason="TIMEOUT"))
    assert timed_out.alert and timed_out.event == "cancelled"


def test_other_notifications_in_the_web_uis_words() -> None:
    found = CandidatesFound(Role.RIDER, b"\x0e" * 16, (match(), match()))
    assert said(found) == Message(
        "candidates_found", "Matches found", "2 match(es) for your request 0e0e0e0e."
    )
    balance = said(BalanceChanged(DRIVER, 2_500, 1_000))
    assert balance.body == "Balance 1.000 → 2.500 tokens." and balance.alert
    fork = said(ForkFound(RIDER, 7))
    assert (
        fork.alert
        and fork.body == f"Fork found in {member_id(RIDER)}'s log: their credit is frozen."
    )
    expired = said(OwnClosed("request", b"\x0e" * 16, "expired"))
    assert (expired.event, expired.alert) == ("expired", True)
    assert expired.body == "Your request 0e0e0e0e closed: expired."
    assert not said(OwnClosed("offer", b"\x0f" * 16, "withdrawn")).alert
    assert not said(InputRejected("gossip", "bad_signature", "RideOffer.sig", 3)).alert


def test_every_alerting_notification_has_a_known_event_and_every_event_can_alert() -> None:
    notes: list[Notification] = [
        update(role, notice, by=by, reason=reason, check=match(), pin="1234", attempts_left=1)
        for role, notice, by, reason in itertools.product(Role, Notice, Role, ("TIMEOUT", "OTHER"))
    ]
    notes += [
        CandidatesFound(Role.DRIVER, b"\x0f" * 16, (match(),)),
        OwnClosed("offer", b"\x0f" * 16, "expired"),
        BalanceChanged(DRIVER, 1, 0),
        ForkFound(RIDER, 1),
    ]
    alerting = {m.event for m in map(said, notes) if m.alert}
    assert alerting == set(EVENTS)


# -- the command template


def test_values_fill_their_own_argv_elements_verbatim_never_a_shell_or_an_option() -> None:
    template = Template.parse(
        ["notify-send", "--app-name=lazooz", "--", "{title}", "[{event}] {body}"]
    )
    hostile = "$(rm -rf ~); `id` {title} -u critical"
    argv = template.fill({"title": "-u critical", "body": hostile, "event": "done", "ride": ""})
    assert argv == ["notify-send", "--app-name=lazooz", "--", "-u critical", f"[done] {hostile}"]
    assert template.fill({"title": "a\x00b", "body": "", "event": "", "ride": ""})[3] == "ab"
    assert Template.parse(["x", "{{literal}}"]).fill({})[1] == "{literal}"
    assert Template.parse(NOTIFY_SEND).program == "notify-send"


@pytest.mark.parametrize(
    ("argv", "index", "rule"),
    [
        ([], None, "must name a program"),
        (["{title}"], 0, "the program must be a fixed"),
        ([""], 0, "the program must be a fixed"),
        (["notify-send", "{pin}"], 1, "unknown placeholder {pin}: use {title}, {body}"),
        (["notify-send", "{title!r}"], 1, "unknown placeholder {title!r}"),
        (["notify-send", "{body:>9}"], 1, "unknown placeholder {body:>9}"),
        (["notify-send", "{}"], 1, "unknown placeholder {}"),
        (["notify-send", "a}"], 1, "unbalanced braces"),
    ],
)
def test_a_bad_template_names_the_element_and_the_rule(
    argv: list[str], index: int | None, rule: str
) -> None:
    with pytest.raises(BadTemplate) as info:
        Template.parse(argv)
    assert info.value.index == index and rule in info.value.rule
