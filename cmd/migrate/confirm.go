package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/simcash/simdb/internal/migrate"
)

// Rolling back a migration whose Down discards stored data needs consent:
// goose's verbs run without a word, and `reset` on the wrong file would
// drop every run. A migration declares such a Down with a line
// `-- simdb:down-drops WHAT` in its Down section (00001 drops the tables,
// 00002 the experiment columns); Downs that only drop derived data
// (00003's summary tables, which its Up rebuilds) or rebuild a table
// (00004) carry none. TestDownDropsMarkersMatchBehaviour checks the
// markers against what each Down really loses.

// dropMarker starts the line that declares a Down discarding data.
const dropMarker = "-- simdb:down-drops "

// lossyDown is an applied migration about to be rolled back whose Down
// discards data.
type lossyDown struct {
	name  string // file name
	drops string // what its marker says it drops
}

// lossyDowns returns, newest first, the migrations the command would roll
// back that are marked as dropping data.
func lossyDowns(ctx context.Context, m *migrate.Migrator, migrations fs.FS, cmd string, version int64) ([]lossyDown, error) {
	if cmd != "down" && cmd != "redo" && cmd != "down-to" && cmd != "reset" {
		return nil, nil
	}
	current, err := m.Version(ctx)
	if err != nil || current == 0 {
		return nil, err
	}
	// The command rolls back every applied migration above floor.
	floor := version // down-to
	switch cmd {
	case "down", "redo":
		floor = current - 1
	case "reset":
		floor = 0
	}
	statuses, err := m.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []lossyDown
	for _, s := range slices.Backward(statuses) {
		if s.State != goose.StateApplied || s.Source.Version <= floor || s.Source.Version > current {
			continue
		}
		name := filepath.Base(s.Source.Path)
		drops, err := downDrops(migrations, name)
		if err != nil {
			return nil, err
		}
		if drops != "" {
			out = append(out, lossyDown{name: name, drops: drops})
		}
	}
	return out, nil
}

// downDrops returns what the Down section of migration name declares it
// drops, or "".
func downDrops(migrations fs.FS, name string) (string, error) {
	src, err := fs.ReadFile(migrations, name)
	if err != nil {
		return "", err
	}
	_, down, _ := strings.Cut(string(src), "-- +goose Down")
	for line := range strings.Lines(down) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), dropMarker); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", nil
}

// holdings says what the database holds that a lossy Down would drop.
func holdings(ctx context.Context, db *sql.DB) (string, error) {
	var runs, events int64
	if err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(event_count), 0) FROM simulations`).Scan(&runs, &events); err != nil {
		return "", fmt.Errorf("count the stored runs: %w", err)
	}
	return fmt.Sprintf("%d run(s), %d event(s)", runs, events), nil
}

// confirmWord is what a terminal user types to confirm a data-dropping
// command: the database file's name, or a PostgreSQL database's name.
type confirmWord struct{ what, word string }

// refusal is a data-dropping command that was not confirmed: a usage
// error (exit status 2), with nothing changed.
type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }

// confirmLoss asks for consent to run a data-dropping command on the
// database its messages call name. It returns nil when the caller may go
// on: yes was given, or a terminal user typed word.word. Otherwise it
// returns a refusal (nothing has been changed) or the error that kept it
// from asking.
func confirmLoss(ctx context.Context, db *sql.DB, name string, word confirmWord, cmd string, lossy []lossyDown, yes bool, term terminal, stderr io.Writer) error {
	if len(lossy) == 0 || yes {
		return nil
	}
	held, err := holdings(ctx, db)
	if err != nil {
		return err
	}
	var parts []string
	for _, l := range lossy {
		parts = append(parts, fmt.Sprintf("%s drops %s", l.name, l.drops))
	}
	what := fmt.Sprintf("migrate %s would drop stored data (%s); %s holds %s", cmd, strings.Join(parts, "; "), name, held)
	if !term.interactive {
		return refusal{what + ".\nNothing was changed; run it again with --yes to proceed."}
	}
	fmt.Fprintf(stderr, "%s.\nType %s (%s) to proceed: ", what, word.what, word.word)
	line, err := bufio.NewReader(term.in).ReadString('\n')
	if strings.TrimSpace(line) == word.word {
		return nil
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("read the confirmation: %w; nothing was changed", err)
	}
	msg := fmt.Sprintf("migrate %s: not confirmed; nothing was changed.", cmd)
	if !strings.HasSuffix(line, "\n") {
		msg = "\n" + msg // the answer ended without a newline
	}
	return refusal{msg}
}

// terminal is the standard input, and whether a person types on it.
type terminal struct {
	in          io.Reader
	interactive bool
}
