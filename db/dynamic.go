package db

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// The bases of the queries whose WHERE clause depends on the caller's filter
// (the event filter of internal/provider): sqlc generates only whole
// statements, so these live outside db/queries, one statement a file, for a
// DBA to read where the other SQL is.
//
//go:embed dynamic/*.sql
var dynamicFiles embed.FS

// DynamicQuery returns the statement of db/dynamic/<name>.sql without its
// comment lines, blank lines and trailing semicolon, its lines joined by
// newlines, so that the caller can append a WHERE, ORDER BY and LIMIT.
// Comments stand on lines of their own: a "--" inside a line of the
// statement would swallow what is appended, so it is an error, as are an
// unknown name (wrapping fs.ErrNotExist) and a file with no statement.
func DynamicQuery(name string) (string, error) {
	return dynamicQuery(dynamicFiles, name)
}

func dynamicQuery(fsys fs.FS, name string) (string, error) {
	b, err := fs.ReadFile(fsys, "dynamic/"+name+".sql")
	if err != nil {
		return "", fmt.Errorf("dynamic query %q: %w", name, err)
	}
	var lines []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "--"):
			continue
		case strings.Contains(line, "--"):
			return "", fmt.Errorf("db/dynamic/%s.sql:%d: a comment after SQL on the same line (put it on a line of its own)", name, i+1)
		}
		lines = append(lines, line)
	}
	q := strings.TrimSpace(strings.TrimSuffix(strings.Join(lines, "\n"), ";"))
	if q == "" {
		return "", fmt.Errorf("db/dynamic/%s.sql holds no statement", name)
	}
	return q, nil
}
