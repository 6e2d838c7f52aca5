# sekisho: developer commands. They need only Go (and, for the PostgreSQL
# half of the tests, a PostgreSQL server named by TEST_DATABASE_URL).

GO ?= go

# The race detector needs cgo (a C compiler). Where there is none, the tests
# still run, without -race, and say so.
RACE := $(if $(filter 1,$(shell $(GO) env CGO_ENABLED 2>/dev/null)),-race,)

.PHONY: test run build bench bench-postgres fmt lint screenshots

# test: go vet, then every test. Without TEST_DATABASE_URL the PostgreSQL
# tests are skipped locally and fail when CI=true.
test:
ifeq ($(RACE),)
	@echo "make test: cgo is off (no C compiler?), running without -race" >&2
endif
	$(GO) vet ./... && $(GO) test $(RACE) -count=1 -timeout 20m ./...

# run: the provider in development mode (SQLite under ./data, demo app).
run:
	$(GO) run ./cmd/sekisho serve --dev

# build: the binary at bin/sekisho.
build:
	$(GO) build -o bin/sekisho ./cmd/sekisho

# bench: the benchmark on SQLite.
bench:
	$(GO) run ./cmd/sekisho bench --storage sqlite

# bench-postgres: the benchmark on PostgreSQL.
bench-postgres:
	$(GO) run ./cmd/sekisho bench --storage postgres

# fmt: format every Go file.
fmt:
	gofmt -w .

# lint: fail on unformatted files, then go vet.
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# screenshots: the console's pages, the invitation page, the lock's
# sign-in pages, the account page, the emailed-code step, the sign-in form with the
# password shown and the code step's resend countdown in Japanese and English, the
# authenticator app's set-up and the second-factor step, and a branded
# deployment's sign-in page in Japanese, at desktop (1280 px) and phone
# (390 px) widths, saved by the browser test into
# docs/screenshots. Needs Debian's chromium and a
# Japanese font (apt-get install -y chromium fonts-noto-cjk).
screenshots:
	@command -v chromium >/dev/null || { echo "make screenshots needs chromium (apt-get install -y chromium)" >&2; exit 1; }
	@fc-list :lang=ja | grep -q . || { echo "make screenshots needs a Japanese font (apt-get install -y fonts-noto-cjk)" >&2; exit 1; }
	SEKISHO_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestBrowser(Console|ConsoleLock|SignInLock|Account|Flows|ShowPassword|ResendCountdown|Brand|MFA|Passkeys)$$' ./e2e/
