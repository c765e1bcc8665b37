# The two commands: `make run` and `make test`. Both work in a fresh clone with no
# environment (SQLite, local-memory cache, in-process tasks) and with
# DATABASE_URL / REDIS_URL / CELERY_BROKER_URL pointing at real services.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
HOST ?= 127.0.0.1
DEMO_ARGS ?=
# Local commands sign with the checkout's key file unless DJANGO_SECRET_KEY is set (production sets it).
export DJANGO_SECRET_KEY_FILE ?= $(CURDIR)/.secret_key

.PHONY: setup frontend frontend-test e2e run test worker beat bench clean compose-test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.requirements.stamp: requirements.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.requirements.stamp
	$(PY) manage.py migrate --noinput

# The storefront SPA: `npm ci` when the lockfile changes, a Vite build when a source does
# (built before `setup` migrates, so Django finds frontend/dist in STATICFILES_DIRS).
NPM ?= npm
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.app.json frontend/package.json

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(FRONTEND_SOURCES)
	cd frontend && $(NPM) run --silent build

frontend: frontend/dist/index.html

frontend-test: frontend/node_modules/.package-lock.json
	cd frontend && $(NPM) test --silent

# The browser test alone (chromium against a live Django server; screenshots in frontend/e2e/screenshots/).
e2e: frontend setup
	$(PY) -m pytest frontend/e2e $(PYTEST_ARGS)

run: frontend setup
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py bootstrap_store $(DEMO_ARGS)
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

# The storefront's unit tests (vitest), then pytest: the Python suite and the browser test.
# pytest exits 5 when it collects nothing: a suite that ran no test is a failure.
test: frontend setup
	@cd frontend && $(NPM) test --silent; vitest=$$?; cd ..; \
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; \
	if [ $$vitest -ne 0 ]; then echo "make test: the storefront's unit tests (vitest) failed" >&2; exit $$vitest; fi; \
	exit $$status

worker: setup
	$(VENV)/bin/celery -A config worker --loglevel=INFO --concurrency=1

beat: setup
	$(VENV)/bin/celery -A config beat --loglevel=INFO

# docker-compose.yml for real (podman): build, start every service, check the storefront, retrain, down.
compose-test:
	bash .ci/compose-test

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles media .pytest_cache frontend/node_modules frontend/dist frontend/e2e/screenshots
