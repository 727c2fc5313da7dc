package workload

import (
	"math/rand/v2"
	"testing"
)

// TestConstants: the run's C for last names differs from the load's by 65
// to 119 but not 96 or 112 (clause 2.1.6.1), whatever the draw.
func TestConstants(t *testing.T) {
	for seed := range uint64(500) {
		c := NewConstants(rand.New(rand.NewPCG(seed, 0)))
		d := c.CLast - c.CLoad
		if d < 0 {
			d = -d
		}
		if d < 65 || d > 119 || d == 96 || d == 112 {
			t.Fatalf("seed %d: C_LAST %d and C_LOAD %d differ by %d", seed, c.CLast, c.CLoad, d)
		}
	}
}

// TestNewOrderInputs: 5 to 15 lines of distinct items of the catalogue;
// about 1% of orders end with the unused item number (the rollback); with
// two warehouses about 1% of lines come from the other one.
func TestNewOrderInputs(t *testing.T) {
	scale := Scale{Warehouses: 2, Items: 1000, Customers: 30}
	in := inputs{r: rand.New(rand.NewPCG(1, 1)), scale: scale, c: NewConstants(rand.New(rand.NewPCG(2, 2))), home: 1, dist: 1}
	const orders = 20_000
	rollbacks, lines, remote := 0, 0, 0
	for range orders {
		c := in.newOrder()
		if len(c.Lines) < 5 || len(c.Lines) > 15 {
			t.Fatalf("%d lines", len(c.Lines))
		}
		seen := map[int32]bool{}
		for i, l := range c.Lines {
			switch {
			case l.IID == int32(scale.Items+1) && i == len(c.Lines)-1:
				rollbacks++
			case l.IID < 1 || l.IID > int32(scale.Items) || seen[l.IID]:
				t.Fatalf("line %d: item %d (seen: %v)", i, l.IID, seen[l.IID])
			}
			seen[l.IID] = true
			if l.Quantity < 1 || l.Quantity > 10 {
				t.Fatalf("quantity %d", l.Quantity)
			}
			if l.SupplyWID != c.WID {
				remote++
			}
			lines++
		}
		if c.CID < 1 || c.CID > int32(scale.Customers) {
			t.Fatalf("customer %d", c.CID)
		}
	}
	if share := float64(rollbacks) / orders; share < 0.007 || share > 0.013 {
		t.Errorf("%.2f%% of orders roll back, want ~1%%", 100*share)
	}
	if share := float64(remote) / float64(lines); share < 0.007 || share > 0.013 {
		t.Errorf("%.2f%% of lines are remote, want ~1%%", 100*share)
	}
}
