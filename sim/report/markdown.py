"""Markdown building blocks for the reports, and the Markdown-to-HTML page."""

from __future__ import annotations

import html
import math
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from markdown_it import MarkdownIt

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.55rem; }
th { background: #f2f2f2; }
td:not(:first-child) { text-align: right; }
img { max-width: 100%; }
code { background: #f4f4f4; padding: 0 0.2rem; }
"""


def fmt(value: object, key: str = "") -> str:
    """A metric for a table: shares as percentages, big numbers with separators, none as '–'."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if key.endswith("share") and 0 <= value <= 1:
            return f"{value:.1%}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10 or value == int(value):
            return f"{value:,.1f}"
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value) or "–"
    return str(value).replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-style Markdown table; cells already strings are kept, others go through ``fmt``."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def to_html(markdown: str, title: str) -> str:
    """A standalone HTML page of ``markdown`` (tables on; raw HTML in the text is escaped)."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )


def code_version() -> str:
    """``git describe`` of the working tree the simulator runs from, else the package version."""
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        try:
            found = subprocess.run(
                ["git", "describe", "--always", "--tags", "--dirty"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
            return f"git {found.stdout.strip()}"
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        return f"lazooz {metadata.version('lazooz')}"
    except metadata.PackageNotFoundError:
        return "unknown"
