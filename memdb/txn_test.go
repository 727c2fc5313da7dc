package memdb

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// model is what the people table should hold: rows by id.
type model map[int64]person

func (m model) emailTaken(email *string, except int64) bool {
	if email == nil {
		return false
	}
	for id, p := range m {
		if id != except && p.Email != nil && *p.Email == *email {
			return true
		}
	}
	return false
}

// inOrder lists the ids of m in the order of index ix of people.
func (m model) inOrder(ix *Index) []int64 {
	ids := slices.Collect(maps.Keys(m))
	slices.SortFunc(ids, func(a, b int64) int {
		pa, pb := m[a], m[b]
		switch ix.Name {
		case "email":
			if c := boolOrder(pa.Email != nil, pb.Email != nil); c != 0 {
				return c // NULLs first
			}
			if pa.Email == nil {
				return cmp.Compare(a, b) // NULLs: by primary key
			}
			return cmp.Compare(*pa.Email, *pb.Email)
		case "team":
			if c := cmp.Compare(pa.Team, pb.Team); c != 0 {
				return c
			}
			if c := boolOrder(pa.Active, pb.Active); c != 0 {
				return c
			}
		}
		return cmp.Compare(a, b)
	})
	return ids
}

func boolOrder(a, b bool) int { return cmp.Compare(boolValue(a), boolValue(b)) }

// idsOf drains it and returns the ids of its rows.
func idsOf(t *testing.T, it *Iterator) []int64 {
	t.Helper()
	var ids []int64
	for row, key := it.Next(); row != nil; row, key = it.Next() {
		if key == nil {
			t.Fatal("a row without its key")
		}
		ids = append(ids, row[0].(int64))
	}
	return ids
}

// check compares every index of r with m, and the count.
func check(t *testing.T, what string, r Reader, m model) {
	t.Helper()
	// A Txn counts the committed rows, without its own changes.
	if _, inTxn := r.(*Txn); !inTxn && r.Count(people) != int64(len(m)) {
		got := r.Count(people)
		t.Fatalf("%s: count %d, want %d", what, got, len(m))
	}
	for _, ix := range append([]*Index{people.Primary()}, people.Indexes()...) {
		it, err := r.Scan(ix, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, want := idsOf(t, it), m.inOrder(ix)
		if !slices.Equal(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Fatalf("%s: index %s holds %v, want %v", what, ix.Name, got, want)
		}
	}
	for id, p := range m {
		got, found, err := typedPeople.Get(r, id)
		if err != nil || !found || !samePerson(got, p) {
			t.Fatalf("%s: Get(%d) = %+v %v %v, want %+v", what, id, got, found, err, p)
		}
	}
}

func samePerson(a, b person) bool {
	return a.ID == b.ID && a.Team == b.Team && a.Active == b.Active && (a.Email == nil) == (b.Email == nil) &&
		(a.Email == nil || *a.Email == *b.Email)
}

// TestTxnAgainstModel runs random transactions of inserts, updates, deletes,
// reads of their own writes, scans (some left open across writes), commits
// and aborts, and compares the image with a plain model after every step;
// snapshots taken on the way must keep their state.
func TestTxnAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	im, err := NewImage(people)
	if err != nil {
		t.Fatal(err)
	}
	committed := model{}
	type heldSnapshot struct {
		snap *Snapshot
		m    model
	}
	var held []heldSnapshot
	emails := []string{"a@x", "b@x", "c@x", "d@x", "e@x", "f@x"}
	randomPerson := func() person {
		p := person{ID: int64(rng.IntN(40)), Team: []string{"red", "blue", "green"}[rng.IntN(3)], Active: rng.IntN(2) == 0,
			Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		if rng.IntN(3) > 0 {
			p.Email = str(emails[rng.IntN(len(emails))])
		}
		return p
	}
	for round := range 300 {
		tx := im.Txn()
		m := maps.Clone(committed)
		// An iterator opened mid-transaction must see the state of its creation.
		var open *Iterator
		var openWant []int64
		for step := range 1 + rng.IntN(40) {
			what := fmt.Sprintf("round %d step %d", round, step)
			p := randomPerson()
			switch op := rng.IntN(10); {
			case op < 4:
				err := typedPeople.Insert(tx, p)
				_, exists := m[p.ID]
				if wantErr := exists || m.emailTaken(p.Email, p.ID); (err != nil) != wantErr {
					t.Fatalf("%s: insert %+v: err %v, want error %v", what, p, err, wantErr)
				}
				if err == nil {
					m[p.ID] = p
				}
			case op < 7:
				err := typedPeople.Update(tx, p)
				_, exists := m[p.ID]
				if wantErr := !exists || m.emailTaken(p.Email, p.ID); (err != nil) != wantErr {
					t.Fatalf("%s: update %+v: err %v, want error %v", what, p, err, wantErr)
				}
				if err == nil {
					m[p.ID] = p
				}
			case op < 9:
				err := tx.Delete(people, p.ID)
				if _, exists := m[p.ID]; (err != nil) == exists {
					t.Fatalf("%s: delete %d: err %v, exists %v", what, p.ID, err, exists)
				}
				delete(m, p.ID)
			default:
				if open == nil {
					if open, err = tx.Scan(people.Indexes()[1], nil); err != nil {
						t.Fatal(err)
					}
					openWant = m.inOrder(people.Indexes()[1])
				}
			}
			check(t, what, tx, m)
		}
		if open != nil {
			if got := idsOf(t, open); !slices.Equal(got, openWant) && (len(got) > 0 || len(openWant) > 0) {
				t.Fatalf("round %d: an iterator opened mid-transaction saw %v, want %v", round, got, openWant)
			}
		}
		if rng.IntN(4) == 0 {
			tx.Abort()
		} else {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			committed = m
		}
		snap := im.Snapshot()
		check(t, fmt.Sprintf("round %d committed", round), snap, committed)
		if round%20 == 0 {
			held = append(held, heldSnapshot{snap, maps.Clone(committed)})
		}
	}
	for i, h := range held {
		check(t, fmt.Sprintf("snapshot %d", i), h.snap, h.m)
	}
	// Reset goes back to a held state, and writing goes on from there.
	im.Reset(held[3].snap)
	check(t, "after reset", im.Snapshot(), held[3].m)
	tx := im.Txn()
	for id := range held[3].m {
		if err := tx.Delete(people, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	check(t, "emptied after reset", im.Snapshot(), model{})
	check(t, "snapshot after reset", held[3].snap, held[3].m)
}

// TestLoadEqualsInserts loads rows with Image.Load and checks that the image
// equals one built by inserts, and that Load refuses duplicates and rows out
// of primary-key order.
func TestLoadEqualsInserts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	m := model{}
	var rows []Row
	for id := range int64(5000) {
		if rng.IntN(3) == 0 {
			continue
		}
		p := person{ID: id, Team: fmt.Sprintf("t%d", rng.IntN(7)), Active: rng.IntN(2) == 0, Created: time.Unix(id, 0).UTC()}
		if rng.IntN(2) == 0 {
			p.Email = str(fmt.Sprintf("%d@x", id))
		}
		m[id] = p
		rows = append(rows, typedPeople.Row(&p))
	}
	im, err := NewImage(people)
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Load(people, rows); err != nil {
		t.Fatal(err)
	}
	check(t, "loaded", im.Snapshot(), m)
	built := newPeople(t)
	tx := built.Txn()
	for _, id := range []int64{1, 2, 3} {
		if err := tx.Delete(people, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, row := range rows {
		if err := tx.Insert(people, row); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	h1, _ := im.Snapshot().Hash()
	h2, _ := built.Snapshot().Hash()
	if h1 != h2 {
		t.Fatal("a loaded image differs from one built by inserts")
	}
	// Every index holds the same entries in the same order (Load groups
	// the entries of an index whose values repeat, team, and sorts the
	// others).
	for _, ix := range append([]*Index{people.Primary()}, people.Indexes()...) {
		loaded, _ := im.Snapshot().Scan(ix, nil)
		inserted, _ := built.Snapshot().Scan(ix, nil)
		for n := 0; ; n++ {
			a, ka := loaded.Next()
			b, kb := inserted.Next()
			if !bytes.Equal(ka, kb) || (a == nil) != (b == nil) {
				t.Fatalf("index %s, entry %d: loaded key %x, inserted %x", ix.Name, n, ka, kb)
			}
			if a == nil {
				break
			}
		}
	}
	// Writes go on after a load.
	tx = im.Txn()
	if err := tx.Delete(people, rows[0][0]); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	delete(m, rows[0][0].(int64))
	check(t, "written after load", im.Snapshot(), m)

	dupEmail := slices.Clone(rows[:2])
	dupEmail[1] = slices.Clone(dupEmail[1])
	dupEmail[0] = slices.Clone(dupEmail[0])
	dupEmail[0][1], dupEmail[1][1] = "same@x", "same@x"
	for name, bad := range map[string][]Row{
		"duplicate primary key": {rows[0], rows[0]},
		"out of order":          {rows[1], rows[0]},
		"duplicate email":       dupEmail,
		"bad row":               {Row{int64(1)}},
	} {
		im, _ := NewImage(people)
		if err := im.Load(people, bad); err == nil {
			t.Errorf("%s: loaded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
