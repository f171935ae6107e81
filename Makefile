# The two commands of the README. Each does its own set-up: dependencies are installed with `npm ci`
# whenever package-lock.json changed since the last install, so a fresh clone needs nothing else.
.PHONY: up test check bench setup

NPM_STAMP := node_modules/.ensemble-installed

setup: $(NPM_STAMP)

$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## Bring the whole system up on embedded defaults (Ctrl-C stops everything).
up: setup
	@npm run --silent up

## Lint, typecheck (tests included) and the full test suite; ends with `tests: N passed, M failed`.
test: setup
	@npm run --silent check

bench: setup
	@npm run --silent bench
