#!/bin/sh
# importer-graph: a scratch module that imports github.com/simcash/simdb
# (through a replace directive pointing at this checkout) runs `go mod tidy`;
# its go.sum must name none of the tool dependencies (sqlc, staticcheck) nor
# the drivers and frameworks they pull in (mysql, grpc, zap), nor the
# browser driver of e2e/ (chromedp), and simdb's own
# requirements in its module graph none either (goose's go.mod still lists
# drivers for its CLI; those are goose's, not simdb's). Exit 1 names the
# offending lines. Run from the repository root: `make importer-graph`.
set -eu
root=$(pwd)
go=${GO:-go}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/go.mod" <<MOD
module example.com/importer

go 1.26.0

require github.com/simcash/simdb v0.0.0

replace github.com/simcash/simdb => $root
MOD
cat >"$tmp/main.go" <<'SRC'
package main

import (
	"context"
	"fmt"

	"github.com/simcash/simdb"
)

func main() {
	store, err := simdb.Open(context.Background(), "importer.duckdb", simdb.Options{})
	fmt.Println(store, err)
}
SRC
(cd "$tmp" && $go mod tidy && $go mod graph >graph.txt)
pattern='sqlc|honnef.co/go/tools|staticcheck|go-sql-driver/mysql|google.golang.org/grpc|go.uber.org/zap|chromedp'
bad=$(grep -E "$pattern" "$tmp/go.sum" || true)
if [ -n "$bad" ]; then
	echo "importer-graph: a module importing simdb gets tool dependencies in its go.sum:" >&2
	echo "$bad" >&2
	exit 1
fi
# The module graph: what simdb's go.mod requires, tools or not, is in it.
bad=$(grep -E "^github.com/simcash/simdb[@ ].*($pattern)" "$tmp/graph.txt" || true)
if [ -n "$bad" ]; then
	echo "importer-graph: simdb's go.mod puts tool dependencies in an importer's module graph:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "importer-graph: $(wc -l <"$tmp/go.sum") go.sum lines, $(wc -l <"$tmp/graph.txt") graph edges; no sqlc, staticcheck, mysql, grpc, zap or chromedp from simdb"
