package db

import (
	"io/fs"
	"os"
	"path"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// sqlcHidden are the migrations sqlc.yaml leaves out of the schema sqlc
// reads, each because sqlc's PostgreSQL parser cannot read DuckDB syntax
// it needs and it changes no column name or type a query sees.
var sqlcHidden = []string{"00004_derive_event_id.sql"}

// sqlc type-checks the queries against the schema files sqlc.yaml lists; a
// migration missing from that list would leave sqlc checking queries against
// an old schema without any error.
func TestSqlcSeesEveryMigration(t *testing.T) {
	data, err := os.ReadFile("../sqlc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		SQL []struct {
			Schema []string `yaml:"schema"`
		} `yaml:"sql"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.SQL) != 1 {
		t.Fatalf("sqlc.yaml has %d sql blocks, want 1", len(cfg.SQL))
	}
	var listed []string
	for _, p := range cfg.SQL[0].Schema {
		listed = append(listed, path.Base(p))
	}
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range names {
		if !slices.Contains(sqlcHidden, n) {
			want = append(want, n)
		}
	}
	if !slices.Equal(listed, want) {
		t.Fatalf("sqlc.yaml schema lists\n  %v\nwant every migration but %v, in order:\n  %v", listed, sqlcHidden, want)
	}
}
