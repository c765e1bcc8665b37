"""Test settings: the same environment-driven settings, with fast hashing and plain static storage."""

import os
from pathlib import Path

# Tests sign with the checkout's local key file (and so do the servers they start) unless a key is given.
os.environ.setdefault("DJANGO_SECRET_KEY_FILE", str(Path(__file__).resolve().parent.parent / ".secret_key"))

from config.settings import *  # noqa: E402,F401,F403
from config.settings import STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

# The suite's clients all come from 127.0.0.1 and most bring no visitor cookie, so they would share one
# budget per scope across tests: limits far out of reach here; core/tests/test_throttling.py sets its own.
from config.settings import REST_FRAMEWORK  # noqa: E402

REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {scope: "100000/min" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}}
