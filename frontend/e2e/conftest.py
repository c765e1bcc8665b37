"""List the storefront screenshots at the end of the run, so CI's log says where they are."""

import os
import time
from pathlib import Path

SCREENSHOTS = Path(os.environ.get("STOREFRONT_SCREENSHOTS", Path(__file__).resolve().parent / "screenshots"))


def pytest_sessionstart(session):
    session.config._storefront_started = time.time()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    started = getattr(config, "_storefront_started", 0)
    shots = sorted(path for path in SCREENSHOTS.glob("*.png") if path.stat().st_mtime >= started)
    if not shots:
        return
    terminalreporter.write_sep("-", "storefront screenshots (desktop 1366x900, phone 390x844)")
    for path in shots:
        terminalreporter.write_line(str(path))
