package simdb_test

import (
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/provider"
)

// The root package spells its constants out, so that go doc shows their
// values; these are the values the provider applies.
func TestPublicConstantsMatchTheProvider(t *testing.T) {
	for _, c := range []struct {
		name         string
		public, prov any
	}{
		{"DefaultLease", simdb.DefaultLease, provider.DefaultLease},
		{"MinLease", simdb.MinLease, provider.MinLease},
		{"DefaultEventLimit", simdb.DefaultEventLimit, provider.DefaultEventLimit},
		{"MaxEventLimit", simdb.MaxEventLimit, provider.MaxEventLimit},
		{"SortTickAsc", simdb.SortTickAsc, provider.SortTickAsc},
		{"SortTickDesc", simdb.SortTickDesc, provider.SortTickDesc},
		{"DefaultTicksPerDay", simdb.DefaultTicksPerDay, provider.DefaultTicksPerDay},
		{"MaxSimulationIDLen", simdb.MaxSimulationIDLen, provider.MaxSimulationIDLen},
		{"Buffered", int(simdb.Buffered), int(provider.Buffered)},
		{"Durable", int(simdb.Durable), int(provider.Durable)},
		{"CopyCopied", string(simdb.CopyCopied), string(provider.CopyCopied)},
		{"CopySkipped", string(simdb.CopySkipped), string(provider.CopySkipped)},
		{"CopyRefused", string(simdb.CopyRefused), string(provider.CopyRefused)},
		{"CopyFailed", string(simdb.CopyFailed), string(provider.CopyFailed)},
		{"EventWriter", simdb.EventWriter, provider.EventWriter},
	} {
		if c.public != c.prov {
			t.Errorf("simdb.%s is %v; the provider applies %v", c.name, c.public, c.prov)
		}
	}
}
