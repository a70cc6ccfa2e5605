package db

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// Every base in db/dynamic loads as one statement that clauses can be
// appended to: no comment left in it, no trailing semicolon.
func TestDynamicQueriesLoad(t *testing.T) {
	names, err := fs.Glob(dynamicFiles, "dynamic/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 3 {
		t.Fatalf("db/dynamic holds %d files, want the event queries' three bases", len(names))
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "dynamic/"), ".sql")
		q, err := DynamicQuery(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(q, "SELECT ") || strings.Contains(q, "--") || strings.HasSuffix(q, ";") {
			t.Errorf("%s loads as %q: want a SELECT without comments or a trailing semicolon", n, q)
		}
	}
}

func TestDynamicQueryRefusesWhatWouldSwallowAClause(t *testing.T) {
	fsys := fstest.MapFS{
		"dynamic/inline.sql":  {Data: []byte("-- fine\nSELECT a\nFROM t -- would comment out the WHERE\n")},
		"dynamic/empty.sql":   {Data: []byte("-- only a comment\n\n")},
		"dynamic/trailer.sql": {Data: []byte("-- base\nSELECT a,\n  b\nFROM t;\n")},
	}
	if _, err := dynamicQuery(fsys, "inline"); err == nil || !strings.Contains(err.Error(), "dynamic/inline.sql:3") {
		t.Errorf("inline comment: err = %v, want one naming dynamic/inline.sql:3", err)
	}
	if _, err := dynamicQuery(fsys, "empty"); err == nil || !strings.Contains(err.Error(), "no statement") {
		t.Errorf("empty file: err = %v, want no statement", err)
	}
	if _, err := dynamicQuery(fsys, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	q, err := dynamicQuery(fsys, "trailer")
	if err != nil || q != "SELECT a,\nb\nFROM t" {
		t.Errorf("trailer = %q, %v; want %q", q, err, "SELECT a,\nb\nFROM t")
	}
}
