package testutil

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A test that skips under make test's race step (SkipUnderMakeRace) runs in
// no step of make test unless the Makefile's CORPUS_TESTS names it; and a
// name there that no test has any more is a stale entry. Both are caught
// here rather than by a reviewer.
func TestCorpusTestsListMatchesTheSkips(t *testing.T) {
	root := filepath.Join("..", "..")
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CORPUS_TESTS = (.+)$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("no CORPUS_TESTS line in the Makefile")
	}
	listed := strings.Split(strings.TrimSpace(string(m[1])), "|")

	var tests, skipping []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "e2e" || d.Name() == "tools") {
			return filepath.SkipDir // other modules, and hidden folders
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Body == nil {
				continue
			}
			tests = append(tests, fn.Name.Name)
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "SkipUnderMakeRace" {
					skipping = append(skipping, fn.Name.Name)
					return false
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipping) == 0 {
		t.Fatal("found no test calling SkipUnderMakeRace: the walk looked in the wrong place")
	}
	for _, name := range skipping {
		if !slices.Contains(listed, name) {
			t.Errorf("%s skips under make test's race step but is not in the Makefile's CORPUS_TESTS: make test never runs it", name)
		}
	}
	for _, name := range listed {
		if !slices.Contains(tests, name) {
			t.Errorf("CORPUS_TESTS names %s, which no test file declares", name)
		}
	}
}
