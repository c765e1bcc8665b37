# The storefront's production image: Django + gunicorn, the Celery worker and beat.
#   stage 1 (frontend): builds the Vue storefront with Vite (node stays in this stage)
#   stage 2 (python-deps): installs requirements.txt's runtime part into /opt/venv, from wheels only
#   stage 3 (runtime): the venv, the code, frontend/dist and collected static files, run as `app`

FROM node:20-bookworm-slim AS frontend
WORKDIR /build/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build


FROM python:3.11-slim AS python-deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# Runtime packages only (the lines above "# Tests"), at exactly the versions requirements.txt pins:
# the whole file, extras removed, is the constraints file. Wheels only: no compiler is needed, and a
# package that would need one fails the build loudly. The libraries' own test suites (pandas, scipy,
# ... over 100 MB) are never imported at run time.
RUN sed '/^# Tests/,$d' /tmp/requirements.txt >/tmp/runtime.txt \
    && sed 's/\[[^]]*\]//' /tmp/requirements.txt >/tmp/constraints.txt \
    && /opt/venv/bin/pip install --only-binary=:all: -r /tmp/runtime.txt -c /tmp/constraints.txt \
    && /opt/venv/bin/pip check \
    && find /opt/venv/lib -type d -name tests -prune -exec rm -rf '{}' +


FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    DJANGO_SECRET_KEY_FILE= \
    MEDIA_ROOT=/var/lib/storefront/media
# DJANGO_SECRET_KEY_FILE is set empty so that manage.py does not fall back to a key file in the
# checkout (a development convenience): here the key comes from DJANGO_SECRET_KEY or nothing starts.
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
    && mkdir -p /var/lib/storefront/media/models \
    && chown -R app:app /var/lib/storefront
COPY --from=python-deps /opt/venv /opt/venv
WORKDIR /app
# The code stays owned by root: the app user can read it, not change it.
COPY . .
COPY --from=frontend /build/frontend/dist ./frontend/dist
# A throwaway key for this step only (settings refuse to start without one when DEBUG is off);
# the running containers get the real one from the environment.
RUN DJANGO_SECRET_KEY=collectstatic-build-only python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q /app
USER app
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"]
