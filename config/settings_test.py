"""Test settings: the same environment-driven settings, with fast hashing and plain static storage."""

from config.settings import *  # noqa: F401,F403
from config.settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
