# The two commands of the README. Each does its own set-up: dependencies are installed with `npm ci`
# whenever package-lock.json changed since the last install, so a fresh clone needs nothing else.
.PHONY: up test check bench setup kubectl chromium

NPM_STAMP := node_modules/.ensemble-installed

# The console (apps/console) is built into apps/console/dist, which the gateway serves at /console;
# make rebuilds it only when one of its sources is newer than the build.
CONSOLE_BUILD := apps/console/dist/index.html
CONSOLE_SOURCES := $(shell find apps/console/src -type f) apps/console/index.html apps/console/vite.config.ts apps/console/package.json

setup: $(NPM_STAMP) $(CONSOLE_BUILD)

$(CONSOLE_BUILD): $(NPM_STAMP) $(CONSOLE_SOURCES)
	npm run --silent build:console

$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# test/deploy/kubernetes.test.ts renders the manifests with `kubectl kustomize`. Where kubectl is missing
# it comes from Debian (kubernetes-client; the manifests keep to what its kustomize understands).
kubectl:
	@command -v kubectl >/dev/null 2>&1 || { echo 'installing kubectl (Debian package kubernetes-client)'; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null; }

# The console's e2e tests drive Debian's Chromium through playwright-core (`npx playwright install` cannot
# download here); where it is missing it comes from apt.
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo 'installing chromium (Debian package)'; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## Bring the whole system up on embedded defaults (Ctrl-C stops everything).
up: setup
	@npm run --silent up

## Lint, typecheck (tests included) and the full test suite; ends with `tests: N passed, M failed`.
test: setup kubectl chromium
	@npm run --silent check

bench: setup
	@npm run --silent bench
