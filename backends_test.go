package simdb_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// testBackend is a database the public API's tests run against.
type testBackend struct {
	name string
	// skip says why the backend cannot run here ("" when it can).
	skip func() string
	// database returns a new, empty database for t: a file or a URL.
	database func(t *testing.T) string
}

// testBackends are the databases simdb runs on. Every test runs on the
// first (setup's default); TestBackends runs the tests in onEveryBackend on
// the others, through the same setup, so no test is written twice.
var testBackends = []testBackend{
	{
		name:     "duckdb",
		skip:     func() string { return "" },
		database: func(t *testing.T) string { return filepath.Join(t.TempDir(), "test.duckdb") },
	},
	{
		name: "postgres",
		skip: func() string {
			if os.Getenv(testutil.PostgresEnv) == "" {
				return testutil.PostgresEnv + " is not set: the PostgreSQL backend is not tested (make test starts a throwaway server)"
			}
			return ""
		},
		database: func(t *testing.T) string { return testutil.PostgresURL(t) },
	},
}

// backendOf is the backend t runs on: the one TestBackends named in its
// path, else the default.
func backendOf(t *testing.T) testBackend {
	for _, be := range testBackends[1:] {
		if strings.HasPrefix(t.Name(), "TestBackends/"+be.name+"/") {
			return be
		}
	}
	return testBackends[0]
}

// onEveryBackend are the tests TestBackends runs on every backend but the
// default: the core round trip (start, ticks, complete or fail, pages,
// keyset, stream, summaries, list, registers, compare, recover) and the
// sentinel errors. Each uses only SQL both dialects read. (TestHostileInputs
// is not among them: its checks use DuckDB's SQL, and one of its cases
// stores NUL characters, which PostgreSQL refuses —
// TestPostgresRejectsNULCharacters.)
var onEveryBackend = []struct {
	name string
	test func(*testing.T)
}{
	{"StoreSatisfiesProvider", TestStoreSatisfiesProvider},
	{"StartCreatesRecord", TestStartCreatesRecord},
	{"TickEventsQueryableByTick", TestTickEventsQueryableByTick},
	{"CompleteStoresTotals", TestCompleteStoresTotals},
	{"SummaryFindsSimulation", TestSummaryFindsSimulation},
	{"EventsByTickReturnArrival", TestEventsByTickReturnArrival},
	{"ExperimentContextStored", TestExperimentContextStored},
	{"EmptyEventsWriteNothing", TestEmptyEventsWriteNothing},
	{"MissingConfigKeysDefault", TestMissingConfigKeysDefault},
	{"DuplicateIDRejected", TestDuplicateIDRejected},
	{"NoExperimentContextIsNull", TestNoExperimentContextIsNull},
	{"InvalidStartArguments", TestInvalidStartArguments},
	{"InvalidEventStoresNothing", TestInvalidEventStoresNothing},
	{"RegisterLastValueWins", TestRegisterLastValueWins},
	{"TickOrderEnforced", TestTickOrderEnforced},
	{"SmallStreamRoundTrip", TestSmallStreamRoundTrip},
	{"QueryFilters", TestQueryFilters},
	{"QuerySQLTextStoredLiterally", TestQuerySQLTextStoredLiterally},
	{"QueryPagingClampsAndEchoes", TestQueryPagingClampsAndEchoes},
	{"QueryInvalidFilters", TestQueryInvalidFilters},
	{"QueryUnknownSimulation", TestQueryUnknownSimulation},
	{"QueryEventFields", TestQueryEventFields},
	{"QueryRealStreamParticipants", TestQueryRealStreamParticipants},
	{"QueryStreamBusyTicks", TestQueryStreamBusyTicks},
	{"QueryStreamHugeTick", TestQueryStreamHugeTick},
	{"QueryStreamCancellation", TestQueryStreamCancellation},
	{"QueryKeysetMatchesOffset", TestQueryKeysetMatchesOffset},
	{"QueryEventSummary", TestQueryEventSummary},
	{"QueryListSimulations", TestQueryListSimulations},
	{"QuerySimulationSummary", TestQuerySimulationSummary},
	{"QueryAgentStateRegisters", TestQueryAgentStateRegisters},
	{"QueryCompareSimulations", TestQueryCompareSimulations},
	{"ConcurrentSimulations", TestConcurrentSimulations},
	{"ReadersSeeWholeTicks", TestReadersSeeWholeTicks},
	{"FailedGroupCommitStoresNothing", TestFailedGroupCommitStoresNothing},
	{"LeaseRecordedRenewedReleased", TestLeaseRecordedRenewedReleased},
	{"LeaseHeldByAnotherWriter", TestLeaseHeldByAnotherWriter},
	{"RecoverFailsExpiredLeases", TestRecoverFailsExpiredLeases},
}

// TestBackends runs onEveryBackend on every backend but the default, each
// test on a database of its own.
func TestBackends(t *testing.T) {
	for _, be := range testBackends[1:] {
		t.Run(be.name, func(t *testing.T) {
			if why := be.skip(); why != "" {
				t.Skip(why)
			}
			for _, tc := range onEveryBackend {
				t.Run(tc.name, tc.test)
			}
		})
	}
}
