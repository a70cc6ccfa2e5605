#!/usr/bin/env bash
# trace-regions.sh FILE
#
# Prints the regions of a Go execution trace that `simdb --trace FILE …`
# wrote, one line each in the order they began: when it began (ms since the
# trace's first event), how long it lasted (ms), the goroutine, the region.
# What is not in a region on the writer's goroutine is decoding the stream;
# on the commit goroutine, the work between DuckDB calls. The same regions
# are in `go tool trace FILE`, under "User-defined regions".
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 FILE" >&2; exit 2; }
go tool trace -d=parsed "$1" | awk '
  match($0, / Time=[0-9]+/) {
    t = substr($0, RSTART + 6, RLENGTH - 6) + 0
    if (first == "") first = t
  }
  / RegionBegin / || / RegionEnd / {
    match($0, / G=[0-9]+/); g = substr($0, RSTART + 3, RLENGTH - 3)
    match($0, /Type="[^"]*"/); name = substr($0, RSTART + 6, RLENGTH - 7)
    if ($0 ~ / RegionBegin /) { depth[g]++; began[g, depth[g]] = t; order[g, depth[g]] = n++; names[g, depth[g]] = name; next }
    if (depth[g] == 0) next
    d = depth[g]--
    line[order[g, d]] = sprintf("%9.1f %8.1f  G%-5s %s", (began[g, d] - first) / 1e6, (t - began[g, d]) / 1e6, g, names[g, d])
  }
  END { for (i = 0; i < n; i++) if (i in line) print line[i] }'
