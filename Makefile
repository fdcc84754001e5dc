# edgevault — every target is a one-liner; `make help` lists them.
GO        ?= go
PKGS      ?= ./...
PG_URL    ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
FUZZTIME  ?= 20s
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/edgevault/edgevault/internal/cli.Version=$(VERSION)

.PHONY: help build test test-pg lint fuzz golden bench bench-edge check js-deps screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/edgevault and bin/edgevault-agent
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/edgevault ./cmd/edgevault-agent

test: js-deps ## run every test with the race detector (PostgreSQL too when EDGEVAULT_TEST_POSTGRES_URL is set)
	$(GO) test -race -count=1 -timeout 25m $(PKGS)
	@# The activation race (10,000 concurrent activations) runs without the
	@# race detector, which would make it take many minutes; it is a test of
	@# the database's single-winner update, not of memory races.
	$(GO) test -count=1 -timeout 10m -run '^TestActivationRace$$' ./internal/e2e/

test-pg: js-deps ## run the tests with PostgreSQL at $(PG_URL)
	EDGEVAULT_TEST_POSTGRES_URL='$(PG_URL)' $(GO) test -race -count=1 -timeout 25m $(PKGS)
	EDGEVAULT_TEST_POSTGRES_URL='$(PG_URL)' $(GO) test -count=1 -timeout 10m -run '^TestActivationRace$$' ./internal/e2e/

js-deps: ## install the JS SDK test's npm packages (skipped without npm; the JS test then skips)
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix test/js --no-audit --no-fund --loglevel=error; else echo "npm not found: the JS SDK test will be skipped"; fi

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME each
	scripts/fuzz.sh $(FUZZTIME)

screenshots: ## regenerate docs/screenshots from the portal's browser test (needs /usr/bin/chromium)
	mkdir -p docs/screenshots && EDGEVAULT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestPortalInBrowser$$' ./internal/e2e/

golden: ## rewrite golden files under testdata/ after an intended change
	$(GO) test ./internal/cli/ ./internal/envelope/ ./internal/armapi/ ./internal/kvapi/ ./internal/secret/ -update

bench: ## benchmarks: tokens, server start, envelope, RBAC, locks, operations
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./internal/token/ ./internal/server/ ./internal/envelope/ ./internal/rbac/ ./internal/lock/ ./internal/operation/ ./internal/audit/ ./internal/kvapi/

bench-edge: ## edge benchmarks (~15 min): activation keys, activation, device sync, a fleet of 1,000 devices
	$(GO) test -run '^$$' -bench 'GenerateActivationKey|DeviceActivation|DeviceSync/.*/push' -benchtime 200x -count 3 -timeout 60m ./internal/e2e/
	$(GO) test -run '^$$' -bench 'DeviceSync/.*/operation' -benchtime 40x -count 3 -timeout 30m ./internal/e2e/
	$(GO) test -run '^$$' -bench FleetHeartbeat -benchtime 1x -timeout 30m ./internal/e2e/

check: lint test ## what CI runs: lint, then every test with -race
