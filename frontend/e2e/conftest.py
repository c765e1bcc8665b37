"""The browser tests' shared setup: what they need on the machine, and the screenshots listed at the end of the run."""

import os
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings

FRONTEND = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

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


def missing_prerequisites() -> list[str]:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"chromium at {CHROMIUM} (apt-get install -y chromium)")
    if shutil.which("node") is None:
        missing.append("node")
    if not (FRONTEND / "node_modules" / "playwright-core").is_dir():
        missing.append("frontend/node_modules (cd frontend && npm ci)")
    if not (Path(settings.FRONTEND_DIST_DIR) / "index.html").is_file():
        missing.append(f"the storefront build in {settings.FRONTEND_DIST_DIR} (cd frontend && npm run build)")
    return missing


@pytest.fixture
def browser_ready():
    """Chromium, node, playwright-core and the built storefront are there; CI fails instead of skipping."""
    missing = missing_prerequisites()
    if missing:
        message = "the browser test needs " + ", ".join(missing)
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
