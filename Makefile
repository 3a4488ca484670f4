.PHONY: run codes test lint

run:
	bash scripts/run.sh

# The demo accounts' current authenticator codes (the demo only; refused in production).
codes:
	.venv/bin/python manage.py demo_codes

test:
	bash scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
