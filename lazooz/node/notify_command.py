"""The desktop-notification command: an argv template whose placeholders are filled without a shell.

``notify.command`` is a list such as ``["notify-send", "--app-name=lazooz",
"--", "{title}", "{body}"]``. Each element may hold the placeholders
``{title}``, ``{body}``, ``{event}`` and ``{ride}`` (``{{``/``}}`` for a
literal brace); the program, the first element, holds none, so no
notification can choose what runs. Filled values go into their own argv
elements verbatim and are never parsed again: text that came from another
member (ids, reasons, amounts) cannot become an option, a second command or
a placeholder. This module imports nothing heavy (the configuration uses it).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: What a template element may name.
PLACEHOLDERS = ("title", "body", "event", "ride")
#: What ``notify.command = "auto"`` runs when ``notify-send`` is on ``PATH``.
NOTIFY_SEND = ("notify-send", "--app-name=lazooz", "--", "{title}", "{body}")


class BadTemplate(ValueError):
    """Element ``index`` of a command template cannot be used: ``rule`` says why."""

    def __init__(self, index: int | None, text: object, rule: str) -> None:
        super().__init__(rule)
        self.index = index
        self.text = text
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Field:
    """A placeholder inside a template element."""

    name: str


Part = str | Field


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed argv template: each element a run of literal text and placeholders."""

    args: tuple[tuple[Part, ...], ...]

    @classmethod
    def parse(cls, argv: Sequence[str]) -> Template:
        """The template ``argv`` describes, or ``BadTemplate`` naming the element and rule."""
        if not argv:
            raise BadTemplate(None, list(argv), 'must name a program; use "off" for none')
        args = tuple(_parse_arg(i, text) for i, text in enumerate(argv))
        if not args[0] or any(isinstance(p, Field) for p in args[0]):
            rule = "the program must be a fixed, non-empty name: no placeholder"
            raise BadTemplate(0, argv[0], rule)
        return cls(args)

    @property
    def program(self) -> str:
        return "".join(p for p in self.args[0] if isinstance(p, str))

    def fill(self, values: Mapping[str, str]) -> list[str]:
        """The argv to run: every placeholder replaced by its value, verbatim (NULs dropped)."""
        clean = {k: v.replace("\x00", "") for k, v in values.items()}
        return [
            "".join(clean[p.name] if isinstance(p, Field) else p for p in parts)
            for parts in self.args
        ]


def _parse_arg(index: int, text: str) -> tuple[Part, ...]:
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise BadTemplate(
            index, text, f"unbalanced braces ({exc}); write {{{{ for a '{{'"
        ) from None
    parts: list[Part] = []
    for literal, name, spec, conversion in pieces:
        if literal:
            parts.append(literal)
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise BadTemplate(index, text, f"unknown placeholder {shown}: use {known}")
        parts.append(Field(name))
    return tuple(parts)
