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

.PHONY: setup run test worker beat bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.requirements.stamp: requirements.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.requirements.stamp
	$(PY) manage.py migrate --noinput

run: setup
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py bootstrap_store $(DEMO_ARGS)
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

# pytest exits 5 when it collects nothing: a suite that ran no test is a failure.
test: setup
	@$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; exit $$status

worker: setup
	$(VENV)/bin/celery -A config worker --loglevel=INFO --concurrency=1

beat: setup
	$(VENV)/bin/celery -A config beat --loglevel=INFO

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles media .pytest_cache
