# simdb: everything needs only Go (1.26) and gcc. Tools (sqlc, staticcheck)
# are pinned in go.mod and run with `go tool`.

GO       ?= go
DB       ?= simdb.duckdb
BIN      := bin
PKGS     := ./...
# Fuzz time per target in `make fuzz` (CI uses a short run).
FUZZTIME ?= 10s

.PHONY: all build demo test test-short test-crash check fmt vet staticcheck sqlc-diff migrations-roundtrip generate fuzz bench clean

all: check test

build:
	$(GO) build -o $(BIN)/simdb ./cmd/simdb
	$(GO) build -o $(BIN)/migrate ./cmd/migrate

## demo: generate a small run, ingest it into $(DB) through the provider, show it.
demo: build
	./$(BIN)/simdb --db $(DB) demo

## test: the whole suite against real DuckDB files, with the race detector.
## Set SIMDB_CORPUS to ../shared/data/simcash-events for the real-stream tests.
## The SIGKILL trials are their own target (test-crash): they take minutes
## and gain nothing from -race, which slows each trial eightfold.
TEST_PKGS = $$($(GO) list $(PKGS) | grep -v /internal/crashtest)
test:
	$(GO) test -race -count=1 $(TEST_PKGS)

test-short:
	$(GO) test -short -count=1 $(TEST_PKGS)

## test-crash: SIGKILL trials of ingest and of a buffered provider writer.
test-crash:
	SIMDB_CRASH_TRIALS=$${SIMDB_CRASH_TRIALS:-20} $(GO) test -count=1 -run 'Crash' -timeout 30m ./internal/crashtest/

check: fmt vet staticcheck sqlc-diff migrations-roundtrip

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^internal/dbgen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) tool staticcheck $(PKGS)

## sqlc-diff: fails when internal/dbgen is stale (run `make generate`).
sqlc-diff:
	$(GO) tool sqlc diff

generate:
	$(GO) tool sqlc generate

## migrations-roundtrip: up -> reset -> up on a scratch file with the real CLI.
migrations-roundtrip:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(GO) build -o $$tmp/migrate ./cmd/migrate && \
	$$tmp/migrate -db $$tmp/rt.duckdb up && \
	$$tmp/migrate -db $$tmp/rt.duckdb reset && \
	$$tmp/migrate -db $$tmp/rt.duckdb up && \
	$$tmp/migrate -db $$tmp/rt.duckdb status

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test -run '^$$' -fuzz FuzzParseConfig -fuzztime $(FUZZTIME) ./internal/provider/
	$(GO) test -run '^$$' -fuzz FuzzEventFilter -fuzztime $(FUZZTIME) ./internal/cli/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

clean:
	rm -rf $(BIN) $(DB) $(DB).wal
