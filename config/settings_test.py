"""Test settings: the same environment-driven settings, with fast hashing and plain static storage."""

import os
from pathlib import Path

# Tests sign with the checkout's local key file (and so do the servers they start) unless a key is given.
os.environ.setdefault("DJANGO_SECRET_KEY_FILE", str(Path(__file__).resolve().parent.parent / ".secret_key"))

from config.settings import *  # noqa: E402,F401,F403
from config.settings import STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
