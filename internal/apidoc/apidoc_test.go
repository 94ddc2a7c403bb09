package apidoc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var generatedRE = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// TestEveryExportedNameDocumented walks the module's non-test Go files.
func TestEveryExportedNameDocumented(t *testing.T) {
	root := filepath.Join("..", "..")
	pkgDoc := map[string]bool{} // folder → some file has a package comment
	var missing []string
	files := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, src, parser.ParseComments)
		if err != nil {
			return err
		}
		files++
		dir := filepath.Dir(p)
		pkgDoc[dir] = pkgDoc[dir] || f.Doc != nil
		if generatedRE.Match(src) {
			return nil
		}
		for _, name := range undocumented(f) {
			missing = append(missing, fset.Position(name.Pos()).String()+": "+name.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d Go files found from %s: the walk is broken", files, root)
	}
	var noDoc []string
	for dir, ok := range pkgDoc {
		if !ok {
			noDoc = append(noDoc, dir)
		}
	}
	sort.Strings(noDoc)
	for _, d := range noDoc {
		t.Errorf("package in %s has no package comment (add a doc.go saying what it is for and where to start)", d)
	}
	for _, m := range missing {
		t.Errorf("exported name without a doc comment: %s", m)
	}
}

// undocumented lists the exported top-level names of f without a doc comment: functions, methods of exported
// types, types, and constants/variables (a documented group covers its members; a trailing comment counts).
func undocumented(f *ast.File) []*ast.Ident {
	var out []*ast.Ident
	for _, decl := range f.Decls {
		switch x := decl.(type) {
		case *ast.FuncDecl:
			if x.Doc != nil || !x.Name.IsExported() || (x.Recv != nil && !exportedReceiver(x.Recv.List[0].Type)) {
				continue
			}
			out = append(out, x.Name)
		case *ast.GenDecl:
			for _, s := range x.Specs {
				switch sp := s.(type) {
				case *ast.TypeSpec:
					if sp.Name.IsExported() && x.Doc == nil && sp.Doc == nil {
						out = append(out, sp.Name)
					}
				case *ast.ValueSpec:
					for _, n := range sp.Names {
						if n.IsExported() && x.Doc == nil && sp.Doc == nil && sp.Comment == nil {
							out = append(out, n)
						}
					}
				}
			}
		}
	}
	return out
}

func exportedReceiver(t ast.Expr) bool {
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.IsExported()
		default:
			return true
		}
	}
}
