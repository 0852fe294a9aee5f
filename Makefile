# Loss Functions for Deep Learning: `make` builds everything, `make test` checks everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0
# torch on 2 shared cores is far faster single-threaded for these small models
export OMP_NUM_THREADS ?= 1

.PHONY: all setup book publish-solutions unpublish-solutions course solutions lab test lint test-fast bench browser clean hub hub-down proxy wheel axe

all: course solutions wheel book

setup: $(STAMP)

# LAB_CONFIG: JupyterLab's settings for every lab run from .venv (no news, no update check, no
# extension installs), the same files as the course hub's (deploy/jupyter/common/)
LAB_CONFIG := deploy/jupyter/common/jupyter_lab_config.py deploy/jupyter/common/labconfig/page_config.json
$(STAMP): pyproject.toml constraints.txt $(LAB_CONFIG)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[book,lab,test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	mkdir -p $(VENV)/etc/jupyter/labconfig/page_config.d
	cp deploy/jupyter/common/jupyter_lab_config.py $(VENV)/etc/jupyter/jupyter_lab_config.py
	cp deploy/jupyter/common/labconfig/page_config.json $(VENV)/etc/jupyter/labconfig/page_config.d/lossfunctions.json
	touch $(STAMP)

# the edition of the site (book/_ext/editions.py): self-study -> book/_build/html (solutions folded
# away), course -> book/_build/course/_build/html (no worked solution until it is published)
EDITION ?= self-study
BOOK_EDITIONS := self-study course
ifneq ($(words $(filter $(EDITION),$(BOOK_EDITIONS))) $(words $(EDITION)),1 1)
$(error EDITION=$(EDITION) is not an edition of the site; valid editions: $(BOOK_EDITIONS))
endif
BOOK_OUT_self-study :=
BOOK_OUT_course := --path-output book/_build/course

book: $(STAMP) course solutions wheel
	BOOK_EDITION=$(EDITION) $(BIN)/jupyter-book build -W -n --keep-going $(BOOK_OUT_$(EDITION)) book

# after an assignment's deadline: show its worked solutions in the course edition, and rebuild it
publish-solutions unpublish-solutions: $(STAMP)
	@test -n "$(PS)" || { echo "usage: make $@ PS=<assignment>, e.g. PS=ps01_regression" >&2; exit 2; }
	$(PY) book/_ext/editions.py $(@:-solutions=) $(PS)
	$(MAKE) book EDITION=course

course: $(STAMP)
	$(PY) -m autograder.grading.build release

solutions: $(STAMP)
	$(PY) -m autograder.grading.build solutions

# dist/*.whl: lossutils and autograder with their dependencies, for a notebook run outside this
# checkout (its first cell installs it from $$LOSSUTILS_WHEEL); the site offers it for download
wheel: $(STAMP)
	rm -f dist/*.whl
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .

# a learner's lab: the whole checkout (the chapters' links to course/release/ and solutions/
# resolve), opened on book/, with the course hub's student settings (no instructor tools)
lab: $(STAMP)
	JUPYTER_CONFIG_PATH=$(CURDIR)/deploy/jupyter/student $(BIN)/jupyter lab \
	  --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/book $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

test: $(STAMP) lint browser proxy axe all
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

# a course hub on this machine (root): accounts, shared environment, exchange, JupyterHub
export HUB_PREFIX HUB_STUDENTS HUB_PORT EXCHANGE
proxy: deploy/node_modules/.package-lock.json

deploy/node_modules/.package-lock.json: deploy/package.json deploy/package-lock.json
	npm ci --prefix deploy --no-audit --no-fund --silent

# axe-core, pinned, for the site's accessibility tests (tests/test_site_a11y.py)
axe: tests/a11y/node_modules/.package-lock.json

tests/a11y/node_modules/.package-lock.json: tests/a11y/package.json tests/a11y/package-lock.json
	npm ci --prefix tests/a11y --no-audit --no-fund --silent

hub: $(STAMP) proxy
	$(PY) deploy/hub.py up

hub-down: $(STAMP)
	$(PY) deploy/hub.py down

bench: $(STAMP)
	$(PY) benchmarks/bench_losses.py

clean:
	rm -rf book/_build course/release course/submitted course/autograded course/feedback \
	  course/gradebook.db solutions/*/ .pytest_cache .hypothesis dist
