package sql

import (
	"testing"

	"github.com/imagodb/imago/bench/sbtest"
)

func TestPointGetMatch(t *testing.T) {
	g := newPointGets(newDatabase("sbtest", nil, sbtest.App().Tables))
	for q, want := range map[string]bool{
		"SELECT c FROM sbtest1 WHERE id=?":                      true,
		"SELECT id, k, c, pad FROM sbtest.sbtest1 WHERE id = ?": true,
		"SELECT sbtest1.c FROM sbtest1 WHERE sbtest1.id = ?":    true,
		"SELECT c FROM sbtest1 WHERE k = ?":                     false, // not the primary key
		"SELECT c FROM sbtest1 WHERE id = 5":                    false, // no parameter
		"SELECT c AS x FROM sbtest1 WHERE id = ?":               false, // alias
		"SELECT c FROM sbtest1 WHERE id = ? LIMIT 1":            false,
		"SELECT DISTINCT c FROM sbtest1 WHERE id = ?":           false,
		"SELECT UPPER(c) FROM sbtest1 WHERE id = ?":             false,
		"SELECT c FROM other.sbtest1 WHERE id = ?":              false,
		"SELECT c FROM sbtest1 x WHERE id = ?":                  false,
		"SELECT c FROM sbtest1 WHERE id > ?":                    false,
	} {
		if got := g.match("sbtest", q) != nil; got != want {
			t.Errorf("%s: point get %v, want %v", q, got, want)
		}
	}
}
