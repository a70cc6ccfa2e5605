# simdb: everything needs only Go (1.26) and gcc. Tools (sqlc, staticcheck)
# are pinned in their own module, tools/go.mod, so that a module importing
# simdb gets none of their dependencies; they run from the repository root
# with `go tool -modfile=tools/go.mod` (TOOL below).

GO       ?= go
DB       ?= simdb.duckdb
BIN      := bin
PKGS     := ./...
# Fuzz time per target in `make fuzz` (CI uses a short run).
FUZZTIME ?= 10s
# duckdb_arrow selects the Arrow event writer (internal/provider/
# eventwriter_arrow.go); without it simdb writes through DuckDB's Appender.
# Both store the same rows; `make test-appender` tests the other build.
TAGS     ?= duckdb_arrow
GOTAGS   := -tags '$(TAGS)'
TOOL     := $(GO) tool -modfile=tools/go.mod

# The PostgreSQL backend's tests need a server: scripts/pgtest.sh runs a
# command with SIMDB_TEST_POSTGRES set, starting a throwaway PostgreSQL 15
# cluster (removed afterwards) unless the variable already names one. Plain
# `go test` without it skips those tests with a message.
PGTEST   := scripts/pgtest.sh
# make test's files, the PostgreSQL cluster's included, go to a folder in
# memory when the machine has one to spare (scripts/ramdir.sh says why).
RAMDIR   := scripts/ramdir.sh
# make test runs test binaries that go test -c built (bin/test, kept
# between runs: go test -c leaves a binary that is up to date alone, where
# go test links every package's binary again on each run), without vet
# (make check vets every package in both builds), at most four of a step's
# packages at once (make test's steps wait on each other's locks, sleeps
# and servers as much as on the cores), and each binary on one core
# (ONECPU): a dozen of them share two cores, and each one's idle Go
# scheduler threads spin looking for work on a core another test needs
# (BENCHMARKS.md, "make test"). The corpus tests of the root package and
# the CLI, the longest steps, keep both cores.
#
# -trimpath (TESTBUILD) keeps the checkout's folder out of the build: a
# fresh clone's first make test then reuses what any earlier checkout of
# the same code compiled on the machine, instead of compiling every simdb
# package again under its new path.
#
# The test binaries are linked without DWARF (-w: stack traces and
# profiles use the symbol table, not DWARF) and, where binutils has it,
# by gold: a cgo link of DuckDB costs half the CPU (BENCHMARKS.md, "make
# test"), and a change to a package most tests import relinks them all.
TESTLD    := -w$(if $(shell command -v ld.gold 2>/dev/null), -extldflags=-fuse-ld=gold)
TESTBUILD := -trimpath -ldflags='$(TESTLD)'
ONECPU    := -test.cpu 1

.PHONY: all build demo test test-race test-race-root test-race-cli test-race-backends-root test-race-backends-cli test-race-rest test-corpus test-corpus-root test-corpus-cli test-corpus-event test-corpus-backends-root test-corpus-backends-cli test-corpus-norace FORCE test-browser screenshot test-appender test-short test-crash check fmt vet staticcheck sqlc-diff tidy-diff importer-graph migrations-roundtrip migrations-roundtrip-postgres generate fuzz bench clean

all: check test

build:
	$(GO) build $(GOTAGS) -o $(BIN)/simdb ./cmd/simdb
	$(GO) build $(GOTAGS) -o $(BIN)/migrate ./cmd/migrate

## demo: generate a small run, ingest it into $(DB) through the provider, show it.
demo: build
	./$(BIN)/simdb --db $(DB) demo

## test: the whole suite against real DuckDB files and a PostgreSQL server
## (one throwaway server for all of it unless SIMDB_TEST_POSTGRES names
## one), in three steps run side by side: test-race, test-corpus and
## test-browser. Set SIMDB_CORPUS to ../shared/data/simcash-events for the
## real-stream tests. The SIGKILL trials are their own target (test-crash):
## they take minutes and gain nothing from -race, which slows each trial
## eightfold.
#
## Every DuckDB database of make test runs one thread (SIMDB_DUCKDB_THREADS,
## internal/duckfile): a dozen test processes share the cores, and a
## database with a thread per core spins waiting for its workers. DuckDB's
## results do not depend on its threads; test-crash and the benchmarks run
## its default. Its files go to a folder in memory when there is one
## (RAMDIR), each test binary runs on one core but the two longest
## (ONECPU), and every step starts at once (-j16): make test is
## CPU-bound (BENCHMARKS.md, "make test", has what each of these saved).
test:
	@SIMDB_DUCKDB_THREADS=1 $(RAMDIR) $(PGTEST) $(MAKE) --no-print-directory -j16 test-race test-corpus test-browser

## test-race: every package with the race detector, except what test-corpus
## runs without it: the tests on the medium and large streams and those
## whose work runs in child processes or one call at a time over a big
## input or many small ones (CORPUS_TESTS), and the packages in NORACE_PKGS.
# Packages without a goroutine or shared state of their own (simgen is a
# pure function of its options): -race finds nothing there and costs
# several times the time, so test-corpus runs all their tests. A package
# that starts goroutines does not belong here.
NORACE_PKGS = ./internal/simgen
# Tests that read the medium or large stream (testutil.CorpusFile skips them
# under -race in test-race), or whose work runs in child processes or one
# call at a time over a big input or many small ones (testutil.SkipUnderMakeRace);
# a new one belongs here. The tests of concurrent use, of StreamEvents'
# read-ahead and of the buffered writer's flusher stay under -race.
CORPUS_TESTS = TestRoundTripCorpus|TestIngestCorpusWithoutConfigShowsItsSize|TestIngestConfigUnderScenario|TestCorpusRoundTrip|TestStoredDetailsReadableByDuckDB|TestFiltersCountScenarioParties|TestConfigFromCorpusMetaFile|TestCorpusWithoutConfigStatesItsSize|TestRunSizeRecordedFromEvents|TestQueryRealStreamParticipants|TestCopyCorpus|TestPostgresWorkerProcesses|TestPostgresKilledWriterResumes|TestIngestHugeLine|TestIngestUnderTinyMemoryLimit|TestBenchReportsEveryStep|TestBenchPostgresStepsReportTheirOwnCPU|TestQueryFilters|TestQueryKeysetMatchesOffset|TestSimCashOrderIsSeqOrder|TestSmallStreamRoundTrip|TestHostileInputs

# test-race is five targets that `make -j` runs side by side, so that no
# package's test binary is alone on the critical path: the root package,
# the CLI, the other backends' runs of each (TestBackends,
# TestCLIBackends), and every other package. The root package's and the
# CLI's test binaries are built once each (TESTBIN) and run by two targets
# (scripts/runtest.sh runs one as go test would): each is a large cgo link.
BACKEND_TESTS = ^(TestBackends|TestCLIBackends)$$
TESTBIN  := $(BIN)/test
RUNTEST  := scripts/runtest.sh
# The other packages' test binaries are kept in bin/test too (TESTBINS):
# go test would link each of them again on every run.
TESTBINS := scripts/testbins.sh
RACEENV  = SIMDB_RACE_SKIPS_CORPUS=1 GORACE=atexit_sleep_ms=0 $(PGTEST)
test-race: test-race-root test-race-cli test-race-backends-root test-race-backends-cli test-race-rest

test-race-root: $(TESTBIN)/root.race.test
	$(RACEENV) $(RUNTEST) $< . -test.skip '$(BACKEND_TESTS)' $(ONECPU)

test-race-cli: $(TESTBIN)/cli.race.test
	$(RACEENV) $(RUNTEST) $< internal/cli -test.skip '$(BACKEND_TESTS)' $(ONECPU)

test-race-backends-root: $(TESTBIN)/root.race.test
	$(RACEENV) $(RUNTEST) $< . -test.run '$(BACKEND_TESTS)' $(ONECPU)

test-race-backends-cli: $(TESTBIN)/cli.race.test
	$(RACEENV) $(RUNTEST) $< internal/cli -test.run '$(BACKEND_TESTS)' $(ONECPU)

test-race-rest:
	$(RACEENV) $(TESTBINS) $(TESTBIN)/race 4 $(GOTAGS) $(TESTBUILD) -vet=off -race -- \
	  $$($(GO) list $(PKGS) | grep -v -e '/simdb$$' -e /internal/cli$$ -e /internal/crashtest $(NORACE_PKGS:./%=-e /%$$)) -- $(ONECPU)

## test-corpus: CORPUS_TESTS and NORACE_PKGS without -race, in targets
## that `make -j` runs side by side. The same tests on the other backends
## run as subtests of TestBackends and TestCLIBackends.
CORPUS_RUN = -test.run '^($(CORPUS_TESTS))$$'
BACKENDS_CORPUS_RUN = -test.run '$(BACKEND_TESTS)/.*/^($(subst Test,,$(CORPUS_TESTS)))$$'
test-corpus: test-corpus-root test-corpus-cli test-corpus-event test-corpus-backends-root test-corpus-backends-cli test-corpus-norace

test-corpus-root: $(TESTBIN)/root.test
	$(PGTEST) $(RUNTEST) $< . $(CORPUS_RUN)

test-corpus-cli: $(TESTBIN)/cli.test
	$(PGTEST) $(RUNTEST) $< internal/cli $(CORPUS_RUN)

test-corpus-event:
	$(TESTBINS) $(TESTBIN)/plain 1 $(GOTAGS) $(TESTBUILD) -vet=off -- ./internal/event/ -- $(CORPUS_RUN) $(ONECPU)

test-corpus-backends-root: $(TESTBIN)/root.test
	$(PGTEST) $(RUNTEST) $< . $(BACKENDS_CORPUS_RUN) $(ONECPU)

test-corpus-backends-cli: $(TESTBIN)/cli.test
	$(PGTEST) $(RUNTEST) $< internal/cli $(BACKENDS_CORPUS_RUN) $(ONECPU)

test-corpus-norace:
	$(TESTBINS) $(TESTBIN)/plain 4 $(GOTAGS) $(TESTBUILD) -vet=off -- $(NORACE_PKGS) -- $(ONECPU)

# go test -c runs on every make test (FORCE): it compiles what changed
# and leaves a binary that is already up to date as it is.
$(TESTBIN)/root.race.test: FORCE
	$(GO) test $(GOTAGS) $(TESTBUILD) -vet=off -race -c -o $@ .

$(TESTBIN)/cli.race.test: FORCE
	$(GO) test $(GOTAGS) $(TESTBUILD) -vet=off -race -c -o $@ ./internal/cli/

$(TESTBIN)/root.test: FORCE
	$(GO) test $(GOTAGS) $(TESTBUILD) -vet=off -c -o $@ .

$(TESTBIN)/cli.test: FORCE
	$(GO) test $(GOTAGS) $(TESTBUILD) -vet=off -c -o $@ ./internal/cli/

FORCE:

## test-browser: simdb serve's web page in headless Chromium (e2e/, a module
## of its own so that importers of simdb get no browser driver). Skips with a
## message without chromium on PATH or without SIMDB_CORPUS.
test-browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  echo "test-browser: no chromium on PATH, the browser test skips (apt-get install -y chromium)"
	cd e2e && ../$(TESTBINS) ../$(TESTBIN)/e2e 4 $(GOTAGS) $(TESTBUILD) -vet=off -- ./... -- $(ONECPU)

## screenshot: rewrite docs/serve-run.png from the browser test.
screenshot:
	cd e2e && SIMDB_E2E_SCREENSHOT=$$(pwd)/../docs/serve-run.png $(GO) test $(GOTAGS) -count=1 -run TestBrowserRunPage ./...

## test-appender: the packages that write events, built without the
## duckdb_arrow tag (the Appender writer an importer gets by default).
test-appender:
	$(PGTEST) $(GO) test -count=1 . ./internal/provider/ ./internal/cli/

test-short:
	$(PGTEST) $(GO) test $(GOTAGS) -short -count=1 $$($(GO) list $(PKGS) | grep -v /internal/crashtest)

## test-crash: SIGKILL trials of ingest and of a buffered provider writer
## on DuckDB (SIMDB_CRASH_TRIALS per test, default 10), and on PostgreSQL
## (a cluster of the test's own) 10 SIGKILL, 5 immediate-restart and 5
## pg_terminate_backend trials of four ingest workers (fixed counts).
test-crash:
	SIMDB_CRASH_TRIALS=$${SIMDB_CRASH_TRIALS:-10} $(GO) test $(GOTAGS) -count=1 -run 'Crash' -timeout 30m ./internal/crashtest/

check: fmt vet staticcheck sqlc-diff tidy-diff importer-graph migrations-roundtrip migrations-roundtrip-postgres

## tidy-diff: fails when go.mod/go.sum of the library, of tools/ or of e2e/
## are not tidy.
tidy-diff:
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff
	cd e2e && $(GO) mod tidy -diff

## importer-graph: a scratch module that imports simdb must get no tool
## dependency (sqlc, staticcheck) nor the drivers they pull in.
importer-graph:
	@GO=$(GO) sh tools/importer-graph.sh

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^internal/dbgen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(GOTAGS) $(PKGS)
	$(GO) vet $(PKGS)

staticcheck:
	$(TOOL) staticcheck -tags '$(TAGS)' $(PKGS)
	$(TOOL) staticcheck $(PKGS)

## sqlc-diff: fails when internal/dbgen is stale (run `make generate`).
sqlc-diff:
	$(TOOL) sqlc diff

generate:
	$(TOOL) sqlc generate

## migrations-roundtrip: up -> reset -> up on a scratch file with the real CLI.
migrations-roundtrip:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(GO) build -o $$tmp/migrate ./cmd/migrate && \
	$$tmp/migrate -db $$tmp/rt.duckdb up && \
	$$tmp/migrate -db $$tmp/rt.duckdb reset --yes && \
	$$tmp/migrate -db $$tmp/rt.duckdb up && \
	$$tmp/migrate -db $$tmp/rt.duckdb status

## migrations-roundtrip-postgres: up -> reset -> up -> status through
## cmd/migrate on a PostgreSQL database, the two dialects' schemas compared
## column by column, and the real goose CLI (built from tools/go.mod, the
## goose version go.mod's library is at) running status, up, down and reset
## on db/postgres/migrations in agreement with cmd/migrate.
migrations-roundtrip-postgres:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(GO) build -modfile=tools/go.mod -o $$tmp/goose github.com/pressly/goose/v3/cmd/goose && \
	SIMDB_GOOSE=$$tmp/goose $(PGTEST) $(GO) test -count=1 -run 'TestPostgresUpResetUp|TestDialectsMatch|TestGooseCLIAgrees' ./cmd/migrate/ ./db/

fuzz:
	$(GO) test $(GOTAGS) -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test $(GOTAGS) -run '^$$' -fuzz FuzzSplitMembers -fuzztime $(FUZZTIME) ./internal/event/
	$(GO) test $(GOTAGS) -run '^$$' -fuzz FuzzParseConfig -fuzztime $(FUZZTIME) ./internal/provider/
	$(GO) test $(GOTAGS) -run '^$$' -fuzz FuzzEventFilter -fuzztime $(FUZZTIME) ./internal/cli/

bench:
	$(GO) test $(GOTAGS) -run '^$$' -bench . -benchtime 1x ./...

clean:
	rm -rf $(BIN) $(DB) $(DB).wal
