package memdb

import "bytes"

// Diff calls fn with each row of t that differs between the snapshots a
// and b of one application's image, in primary-key order: Before is the
// row in a (nil: inserted since), After the row in b (nil: deleted). Both
// primary indexes are walked once, in step; a row both states share (the
// same row value, unchanged since a) is skipped without comparing its
// columns. fn's error ends the walk and is returned.
func Diff(a, b *Snapshot, t *Table, fn func(Change) error) error {
	ia, err := a.Scan(t.primary, nil)
	if err != nil {
		return err
	}
	ib, err := b.Scan(t.primary, nil)
	if err != nil {
		return err
	}
	ra, ka := ia.Next()
	rb, kb := ib.Next()
	for ra != nil || rb != nil {
		c := 0
		switch {
		case ra == nil:
			c = 1
		case rb == nil:
			c = -1
		default:
			c = bytes.Compare(ka, kb)
		}
		var err error
		switch {
		case c < 0:
			err = fn(Change{Table: t, Before: ra})
			ra, ka = ia.Next()
		case c > 0:
			err = fn(Change{Table: t, After: rb})
			rb, kb = ib.Next()
		default:
			if !sameValue(ra, rb) && !sameRow(t, ra, rb) {
				err = fn(Change{Table: t, Before: ra, After: rb})
			}
			ra, ka = ia.Next()
			rb, kb = ib.Next()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sameValue tells whether two rows are one value: rows are never modified
// once stored, so states that share a row share its slice.
func sameValue(a, b Row) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}
