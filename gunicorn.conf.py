"""Gunicorn settings for the web container (`gunicorn -c gunicorn.conf.py config.wsgi`).

Every value an operator may want to change is read from the environment, so the same file
serves a small VPS and a larger host. Training runs in the Celery worker, never in a web
request, so requests are short and a stuck one is killed after GUNICORN_TIMEOUT seconds.
"""

import multiprocessing
import os


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Processes x threads: each process loads its own copy of the active recommendation model,
# so threads are the cheap way to add concurrency. Default: 2 processes per core, at most 4.
workers = env_int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count(), 4))
threads = env_int("GUNICORN_THREADS", 4)
worker_class = "gthread"

timeout = env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = env_int("GUNICORN_KEEPALIVE", 5)

# Recycle processes now and then so a slow leak cannot grow without bound.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = env_int("GUNICORN_MAX_REQUESTS_JITTER", 500)

# Heartbeat files on tmpfs: a container's overlay filesystem can stall workers into timeouts.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# The application logs one line per request itself; gunicorn's access log is opt-in (to stdout).
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "").strip().lower() in {"1", "true", "yes", "on"} else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Gunicorn 27 opens a control socket under ~/.gunicorn; a container has no use for it.
control_socket_disable = True
