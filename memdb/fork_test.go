package memdb

import (
	"errors"
	"testing"
)

// TestFork: a fork reads and writes with the image's constraints, lists
// what it changed (not what it wrote back unchanged), cannot be committed,
// and leaves the image and its snapshots as they were.
func TestFork(t *testing.T) {
	im := newPeople(t)
	snap := im.Snapshot()
	before, err := snap.Hash()
	if err != nil {
		t.Fatal(err)
	}
	fork := snap.Fork()
	p1, _, _ := typedPeople.Get(fork, int64(1))
	p2, _, _ := typedPeople.Get(fork, int64(2))
	p3, _, _ := typedPeople.Get(fork, int64(3))
	p1.Team = "blue"
	inserted := p3
	inserted.ID = 4
	steps := []error{
		typedPeople.Update(fork, p1),       // changed
		typedPeople.Update(fork, p2),       // written back unchanged
		fork.Delete(people, int64(3)),      // deleted
		typedPeople.Insert(fork, inserted), // inserted
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	dup := p1
	dup.ID, dup.Email = 5, str("a@x")
	if err := typedPeople.Insert(fork, dup); !errors.Is(err, ErrConstraint) {
		t.Fatalf("a fork skipped the unique check: %v", err)
	}
	if n := fork.Count(people); n != 3 {
		t.Fatalf("fork counts %d rows, want 3", n)
	}
	changes := fork.Changes()
	if len(changes) != 3 ||
		changes[0].Before == nil || changes[0].After[2] != "blue" || // id 1 updated
		changes[1].Before == nil || changes[1].After != nil || // id 3 deleted
		changes[2].Before != nil || changes[2].After[0] != int64(4) { // id 4 inserted
		t.Fatalf("changes: %+v", changes)
	}
	if err := fork.Commit(); err == nil {
		t.Fatal("a fork was committed")
	}
	for _, s := range []*Snapshot{snap, im.Snapshot()} {
		if h, _ := s.Hash(); h != before {
			t.Fatal("a fork changed the image")
		}
	}
}
