package imago_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/imagodb/imago"

// layers are the house rules of ARCHITECTURE.md: each product package and
// the packages of this module it may import directly. A package missing
// here is a new package: add it, and its line in ARCHITECTURE.md.
var layers = map[string][]string{
	"wal":              nil,
	"memdb":            nil,
	"gcpolicy":         nil,
	"progress":         nil,
	"checked":          nil,
	"internal/latency": nil,
	"internal/mariadb": {"memdb"}, // the peer of tests and benchmarks
	"internal/ondisk":  nil,
	"internal/probe":   nil,
	"envelope":         nil,
	"checkpoint":       {"memdb"},
	"commands":         {"envelope", "memdb"},
	"applier":          {"commands", "envelope", "memdb"},
	"writer":           {"applier", "commands", "envelope", "memdb", "wal"},
	"reactors":         {"commands", "envelope"},
	"migrations":       {"commands", "envelope"},
	"redaction":        {"applier", "commands", "envelope", "memdb"},
	"":                 {"applier", "checkpoint", "commands", "envelope", "gcpolicy", "memdb", "migrations", "progress", "reactors", "redaction", "wal", "writer"},
	"sql":              {"commands", "envelope", "memdb", "internal/latency"},
	"sql/difftest":     nil, // tests only: Imago against MariaDB
	"api":              {"commands", "envelope", "memdb"},
	"metrics":          {"commands", "memdb", "reactors"},
	"offline":          {"", "applier", "checkpoint", "commands", "envelope", "memdb", "redaction", "wal"},
	"replica":          {"", "applier", "checkpoint", "wal"},
	"server":           {"", "api", "applier", "checkpoint", "commands", "envelope", "gcpolicy", "memdb", "metrics", "reactors", "redaction", "replica", "sql", "writer"},
	"cli":              {"", "api", "commands", "envelope", "gcpolicy", "offline", "reactors", "server", "wal", "writer"},
}

// readers may not depend on the log's storage or on the writer, even
// through another package: they read through interfaces of their own.
var readers = map[string][]string{
	"sql": {"wal", "writer", "applier"},
	"api": {"wal", "writer", "applier"},
}

// applications are not part of the product: no product package depends
// on them (torture/ is the end-to-end torture suite, tests only).
var applications = []string{"bench/", "examples/", "cmd/", "compat/", "torture/"}

type pkg struct {
	path          string // relative to the module ("" for the root)
	imports, deps []string
}

// TestArchitecture fails on an import the house rules forbid.
func TestArchitecture(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}|{{join .Deps \",\"}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p := parse(line)
		if isApplication(p.path) {
			continue
		}
		allowed, known := layers[p.path]
		if !known {
			t.Errorf("package %q is not in the house rules (architecture_test.go, ARCHITECTURE.md)", p.path)
			continue
		}
		for _, imp := range p.imports {
			if !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s: not allowed by the house rules", name(p.path), name(imp))
			}
		}
		for _, dep := range p.deps {
			if isApplication(dep) || slices.Contains(readers[p.path], dep) {
				t.Errorf("%s depends on %s (through %v)", name(p.path), name(dep), p.imports)
			}
		}
	}
}

// parse reads a line of go list: the package, its imports and its deps,
// keeping those of this module, relative to it.
func parse(line string) pkg {
	parts := strings.SplitN(line, "|", 3)
	local := func(list string) []string {
		var out []string
		for _, p := range strings.Split(list, ",") {
			if p == module {
				out = append(out, "")
			} else if rel, ok := strings.CutPrefix(p, module+"/"); ok {
				out = append(out, rel)
			}
		}
		return out
	}
	path := ""
	if parts[0] != module {
		path = strings.TrimPrefix(parts[0], module+"/")
	}
	return pkg{path: path, imports: local(parts[1]), deps: local(parts[2])}
}

func isApplication(path string) bool {
	for _, prefix := range applications {
		if strings.HasPrefix(path+"/", prefix) { // the directory itself too

			return true
		}
	}
	return false
}

func name(path string) string {
	if path == "" {
		return "imago (the root)"
	}
	return path
}
