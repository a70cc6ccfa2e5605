package cli

// The input of ingest: a file or stdin, gzip detected from its content, and
// the bytes read counted for the progress bar.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// peekContent returns r (buffered) and whether it holds any byte other
// than whitespace, looking at up to 1 MiB without consuming it. More
// whitespace than that, or a read error, counts as content: IngestJSONL
// then reads on and reports what it finds, with its line.
func peekContent(r io.Reader) (io.Reader, bool) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<20)
	}
	for n := 4096; ; n *= 2 {
		n = min(n, br.Size())
		b, err := br.Peek(n)
		if bytes.ContainsFunc(b, func(r rune) bool { return !strings.ContainsRune(" \t\r\n", r) }) {
			return br, true
		}
		if err != nil {
			return br, !errors.Is(err, io.EOF)
		}
		if n == br.Size() {
			return br, true
		}
	}
}

// baseID is the file's base name without extensions: runs/medium.jsonl.gz
// gives "medium".
func baseID(path string) string {
	base := filepath.Base(path)
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return base
}

func displayName(input string) string {
	if input == "-" {
		return "<stdin>"
	}
	return input
}

// openInput opens FILE or stdin and returns its size when known (for the
// progress bar's percentage).
func (e *env) openInput(input string) (io.Reader, int64, func(), error) {
	if input == "-" {
		return e.stdin, 0, func() {}, nil
	}
	f, err := os.Open(input)
	if err != nil {
		return nil, 0, nil, err
	}
	var size int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// decompress returns r itself, or a gzip reader when r starts with the gzip
// magic bytes: the content decides, not the file name.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
