"""HTML → PDF with headless Chromium: the printed report is exactly the HTML the portal shows.

Chromium is the engine because it implements CSS paged media well enough for a clinical document
(``@page`` size and margins, page-margin boxes carrying the case reference, page numbers and the
content digest on every page, repeated fixed watermarks), and because Debian packages it
(``apt-get install chromium``). Each conversion runs a fresh browser process with a throw-away
profile directory, so parallel conversions never share a profile lock, and with background network
services switched off: the report page itself references nothing outside the file.

The executable is found, in order, from ``GENOMED_CHROMIUM``, then ``chromium``,
``chromium-browser``, ``google-chrome`` and ``google-chrome-stable`` on ``PATH``; when none exists a
:class:`~genomed.errors.ConfigurationError` says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from genomed.errors import ConfigurationError

CHROMIUM_ENV = "GENOMED_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEFAULT_TIMEOUT_S = 90.0


def find_chromium() -> Path | None:
    """The Chromium executable to use, or None when there is none on this machine."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ConfigurationError(f"{CHROMIUM_ENV}={configured} is not an executable file")
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def require_chromium() -> Path:
    """The Chromium executable, or a ConfigurationError telling the operator how to get one."""
    path = find_chromium()
    if path is None:
        raise ConfigurationError(
            "no Chromium found to print the report as PDF: install it (Debian: apt-get install -y chromium) "
            f"or set {CHROMIUM_ENV} to the browser executable")
    return path


def html_to_pdf(html: str, *, chromium: Path | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> bytes:
    """Print a complete HTML document to PDF bytes (page size and margins come from its CSS)."""
    executable = chromium or require_chromium()
    with tempfile.TemporaryDirectory(prefix="genomed-pdf-") as tmp:
        work = Path(tmp)
        page, output = work / "report.html", work / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            str(executable), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--mute-audio",
            f"--user-data-dir={work / 'profile'}", "--no-pdf-header-footer",
            f"--print-to-pdf={output}", page.as_uri(),
        ]
        try:
            # S603: the command is our fixed argument list; the only variable parts are our own temp paths.
            completed = subprocess.run(command, capture_output=True, timeout=timeout, check=False,  # noqa: S603
                                       cwd=work, env={**os.environ, "HOME": str(work)})
        except subprocess.TimeoutExpired:
            raise ConfigurationError(
                f"Chromium ({executable}) did not print the report within {timeout:.0f} s") from None
        except OSError as exc:
            raise ConfigurationError(f"Chromium ({executable}) could not be started: {exc}") from exc
        pdf = output.read_bytes() if output.is_file() else b""
        if completed.returncode != 0 or not pdf.startswith(b"%PDF-"):
            tail = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise ConfigurationError(
                f"Chromium ({executable}) failed to print the report (exit {completed.returncode}): "
                + (" | ".join(tail) or "no PDF written"))
        return pdf
