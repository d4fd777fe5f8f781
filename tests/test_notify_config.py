"""The ``[notify]`` section: defaults, every key read, every bad value refused by key, value and
rule, and ``auto`` resolved against ``PATH``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lazooz import config as cfg
from lazooz.config import Config, NotifyConfig
from lazooz.node.notify import template_of
from lazooz.node.notify_command import NOTIFY_SEND
from protocol.errors import ConfigError

ENV = {"HOME": "/home/ada"}


def parse(text: str) -> Config:
    return cfg.parse(text, source="cfg.toml", base_dir=Path("/etc/lazooz"), env=ENV)


def test_by_default_notify_send_is_used_if_it_is_there_and_nothing_runs_otherwise() -> None:
    n = cfg.defaults(ENV).notify
    assert n == NotifyConfig("auto", 10.0, 1, 32, (), True)
    there = template_of(n, which=lambda name: f"/usr/bin/{name}")
    assert there is not None and there.fill({"title": "T", "body": "B"}) == [
        "notify-send",
        "--app-name=lazooz",
        "--",
        "T",
        "B",
    ]
    assert template_of(n, which=lambda name: None) is None
    assert template_of(NotifyConfig("off")) is None
    assert template_of(NotifyConfig("")) is None


def test_every_notify_key_is_read() -> None:
    c = parse(
        """
[notify]
command = ["/usr/bin/my-notifier", "--title", "{title}", "{body} ({event}, ride {ride})"]
timeout_s = 2.5
max_running = 4
queue = 100
mute = ["candidates_found", "balance_changed"]
show_pin = false
"""
    )
    assert c.notify == NotifyConfig(
        command=("/usr/bin/my-notifier", "--title", "{title}", "{body} ({event}, ride {ride})"),
        timeout_s=2.5,
        max_running=4,
        queue=100,
        mute=("candidates_found", "balance_changed"),
        show_pin=False,
    )
    template = template_of(c.notify)
    assert template is not None and template.program == "/usr/bin/my-notifier"
    assert parse('notify.command = "off"').notify.command == "off"
    assert parse("notify.timeout_s = 3").notify.timeout_s == 3.0


def test_a_notify_section_written_out_reads_back_the_same() -> None:
    c = dataclasses.replace(
        cfg.defaults(ENV),
        notify=NotifyConfig(
            ("notify-send", "{title}", 'say "{body}"'), 0.5, 1, 5, ("done",), False
        ),
    )
    assert parse(cfg.dump(c)) == dataclasses.replace(c, source="cfg.toml")
    assert template_of(NotifyConfig(tuple(NOTIFY_SEND))) is not None


BAD = [
    ('command = "notify-send {title}"', "notify.command='notify-send {title}'", "no shell"),
    ('command = "on"', "notify.command='on'", 'must be "auto", "off", or a list'),
    ("command = 5", "notify.command=5", "a list of strings"),
    ('command = ["notify-send", 5]', "notify.command=['notify-send', 5]", "a list of strings"),
    ("command = []", "notify.command=[]", "must name a program"),
    ('command = ["{title}", "x"]', "notify.command[0]='{title}'", "no placeholder"),
    ('command = ["n", "{titel}"]', "notify.command[1]='{titel}'", "unknown placeholder {titel}"),
    (
        'command = ["n", "{pin}"]',
        "notify.command[1]='{pin}'",
        "use {title}, {body}, {event}, {ride}",
    ),
    ('command = ["n", "{body"]', "notify.command[1]='{body'", "unbalanced braces"),
    ("timeout_s = 0", "notify.timeout_s=0", "seconds, 0.1..300"),
    ("timeout_s = 301", "notify.timeout_s=301", "seconds, 0.1..300"),
    ('timeout_s = "10"', "notify.timeout_s='10'", "must be a number"),
    ("max_running = 0", "notify.max_running=0", "must be 1..16"),
    ("max_running = 1.5", "notify.max_running=1.5", "must be a whole number"),
    ("queue = 1001", "notify.queue=1001", "must be 1..1000"),
    ('mute = ["confirmd"]', "notify.mute[0]='confirmd'", "unknown event; known: candidates_found"),
    ('mute = "done"', "notify.mute='done'", "must be a list of strings"),
    ("mute = [1]", "notify.mute[0]=1", "must be a string"),
    ('show_pin = "no"', "notify.show_pin='no'", "must be true or false"),
    ('comand = "off"', "notify.comand='off'", "did you mean 'command'"),
]


@pytest.mark.parametrize(("line", "shown", "rule"), BAD, ids=[b[1] for b in BAD])
def test_a_bad_notify_value_is_refused_naming_key_value_rule_and_line(
    line: str, shown: str, rule: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse(f"[notify]\n{line}\n")
    message = str(info.value)
    assert message.startswith(shown), message
    assert rule in message, message
    assert message.endswith("(cfg.toml, line 2)"), message
