"""The clinical report as one self-contained, printable HTML page.

The template ships with the package (``templates/report.html.j2``) and is rendered with
autoescaping always on, whatever the file's extension: every value in a report comes from people
and upstream files, and none of it may become markup. Undefined names fail the rendering
(``StrictUndefined``) rather than print as blanks, so a template typo cannot silently drop a field
from a clinical document. The page has no external resources (styles inline, no scripts, no fonts
fetched), so the same bytes print the same PDF on a hospital machine without network.

The rendering depends only on the :class:`~genomed.report.content.ReportContent`: no clock, no
locale, no environment. That is what lets the golden-file test pin it byte for byte.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import jinja2
from markupsafe import Markup

from genomed.report.content import ReportContent

TEMPLATE = "report.html.j2"
WATERMARK = "DRAFT — not for clinical use"


def format_timestamp(value: datetime | None) -> str:
    """A timestamp as the report prints it: UTC, to the minute.

    >>> from datetime import timedelta, timezone
    >>> format_timestamp(datetime(2025, 3, 15, 17, 5, tzinfo=timezone(timedelta(hours=1))))
    '2025-03-15 16:05 UTC'
    >>> format_timestamp(None)
    '—'
    """
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def css_string(value: object) -> Markup:
    """A value as a quoted CSS string, every character outside a safe set escaped.

    Page headers and footers (``@page`` margin boxes) can only show text given in CSS, so values
    such as the case reference are written into the stylesheet; escaping them keeps a quote or a
    ``</style>`` in a reference from ending the string or the style element.

    >>> css_string('CASE-1 "x"</style>')
    Markup('"CASE-1 \\\\22 x\\\\22 \\\\3c /style\\\\3e "')
    """
    safe = "".join(ch if ch.isalnum() or ch in " -_.:,/·—" else f"\\{ord(ch):x} " for ch in str(value))
    return Markup(f'"{safe}"')  # noqa: S704  # every character outside the safe set is CSS-escaped above


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment: package templates, autoescape on, undefined names refused."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("genomed.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["timestamp"] = format_timestamp
    env.filters["css_string"] = css_string
    return env


def render_html(content: ReportContent) -> str:
    """The report version as a complete HTML document (A4, print-ready, no external resources)."""
    template = environment().get_template(TEMPLATE)
    return template.render(report=content, sha256=content.sha256(), watermark=WATERMARK)
