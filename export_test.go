package simdb

import "database/sql"

// RawDB is the Store's database handle, for tests that check rows with
// their own SQL. (Compiled only into this package's tests.)
func RawDB(s *Store) *sql.DB { return s.p.DB() }
