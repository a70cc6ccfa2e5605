package simdb_test

import (
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// backendOf is the backend t runs on: the one TestBackends named in its
// path, else the default (DuckDB).
func backendOf(t *testing.T) testutil.Backend { return testutil.BackendOf(t, "TestBackends") }

// onEveryBackend are the tests TestBackends runs on every backend but the
// default: the core round trip (start, ticks, complete or fail, pages,
// keyset, stream, summaries, list, registers, compare, recover) and the
// sentinel errors. Each uses only SQL both dialects read. (TestHostileInputs
// is not among them: its checks use DuckDB's SQL, and one of its cases
// stores NUL characters, which PostgreSQL refuses —
// TestPostgresRejectsNULCharacters.)
var onEveryBackend = []testutil.BackendTest{
	{Name: "StoreSatisfiesProvider", Test: TestStoreSatisfiesProvider},
	{Name: "StartCreatesRecord", Test: TestStartCreatesRecord},
	{Name: "TickEventsQueryableByTick", Test: TestTickEventsQueryableByTick},
	{Name: "CompleteStoresTotals", Test: TestCompleteStoresTotals},
	{Name: "SummaryFindsSimulation", Test: TestSummaryFindsSimulation},
	{Name: "EventsByTickReturnArrival", Test: TestEventsByTickReturnArrival},
	{Name: "ExperimentContextStored", Test: TestExperimentContextStored},
	{Name: "EmptyEventsWriteNothing", Test: TestEmptyEventsWriteNothing},
	{Name: "MissingConfigKeysDefault", Test: TestMissingConfigKeysDefault},
	{Name: "DuplicateIDRejected", Test: TestDuplicateIDRejected},
	{Name: "NoExperimentContextIsNull", Test: TestNoExperimentContextIsNull},
	{Name: "InvalidStartArguments", Test: TestInvalidStartArguments},
	{Name: "InvalidEventStoresNothing", Test: TestInvalidEventStoresNothing},
	{Name: "RegisterLastValueWins", Test: TestRegisterLastValueWins},
	{Name: "TickOrderEnforced", Test: TestTickOrderEnforced},
	{Name: "SmallStreamRoundTrip", Test: TestSmallStreamRoundTrip},
	{Name: "QueryFilters", Test: TestQueryFilters},
	{Name: "QuerySQLTextStoredLiterally", Test: TestQuerySQLTextStoredLiterally},
	{Name: "QueryPagingClampsAndEchoes", Test: TestQueryPagingClampsAndEchoes},
	{Name: "QueryInvalidFilters", Test: TestQueryInvalidFilters},
	{Name: "QueryUnknownSimulation", Test: TestQueryUnknownSimulation},
	{Name: "QueryEventFields", Test: TestQueryEventFields},
	{Name: "QueryRealStreamParticipants", Test: TestQueryRealStreamParticipants},
	{Name: "QueryStreamBusyTicks", Test: TestQueryStreamBusyTicks},
	{Name: "QueryStreamHugeTick", Test: TestQueryStreamHugeTick},
	{Name: "QueryStreamCancellation", Test: TestQueryStreamCancellation},
	{Name: "QueryKeysetMatchesOffset", Test: TestQueryKeysetMatchesOffset},
	{Name: "QueryEventSummary", Test: TestQueryEventSummary},
	{Name: "QueryListSimulations", Test: TestQueryListSimulations},
	{Name: "QuerySimulationSummary", Test: TestQuerySimulationSummary},
	{Name: "QueryAgentStateRegisters", Test: TestQueryAgentStateRegisters},
	{Name: "QueryCompareSimulations", Test: TestQueryCompareSimulations},
	{Name: "ConcurrentSimulations", Test: TestConcurrentSimulations},
	{Name: "ReadersSeeWholeTicks", Test: TestReadersSeeWholeTicks},
	{Name: "FailedGroupCommitStoresNothing", Test: TestFailedGroupCommitStoresNothing},
	{Name: "ResumeAfterBufferedTicks", Test: TestResumeAfterBufferedTicks},
	{Name: "EventTypeTotalCountsEachTypeOnce", Test: TestEventTypeTotalCountsEachTypeOnce},
	{Name: "CopyRunsKeepsEveryColumn", Test: TestCopyRunsKeepsEveryColumn},
	{Name: "CopyRunsRefusesADifferentRun", Test: TestCopyRunsRefusesADifferentRun},
	{Name: "CopyRunsContinues", Test: TestCopyRunsContinues},
	{Name: "LeaseRecordedRenewedReleased", Test: TestLeaseRecordedRenewedReleased},
	{Name: "LeaseHeldByAnotherWriter", Test: TestLeaseHeldByAnotherWriter},
	{Name: "RecoverFailsExpiredLeases", Test: TestRecoverFailsExpiredLeases},
}

// TestBackends runs onEveryBackend on every backend but the default, each
// test on a database of its own.
func TestBackends(t *testing.T) { testutil.RunOnBackends(t, onEveryBackend) }
