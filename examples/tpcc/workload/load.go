package workload

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/tpcc"
)

// LoadCommands are the commands that populate a database at scale s: the
// items, then per warehouse its row, its stock in batches and its
// districts. Seeds come from seed; cLoad is the NURand constant of the
// customers' last names.
func LoadCommands(s Scale, seed uint64, cLoad int) []commands.Command {
	r := rand.New(rand.NewPCG(seed, 0x7cc))
	var cmds []commands.Command
	for first := 1; first <= s.Items; first += tpcc.MaxLoadBatch {
		cmds = append(cmds, &tpcc.LoadItems{First: int32(first), Count: int32(min(tpcc.MaxLoadBatch, s.Items-first+1)), Seed: r.Uint64()})
	}
	for w := int32(1); w <= int32(s.Warehouses); w++ {
		cmds = append(cmds, &tpcc.LoadWarehouse{WID: w, CustomersPerDistrict: int32(s.Customers), Seed: r.Uint64()})
		for first := 1; first <= s.Items; first += tpcc.MaxLoadBatch {
			cmds = append(cmds, &tpcc.LoadStock{WID: w, First: int32(first), Count: int32(min(tpcc.MaxLoadBatch, s.Items-first+1)), Seed: r.Uint64()})
		}
		for d := int32(1); d <= tpcc.DistrictsPerWarehouse; d++ {
			cmds = append(cmds, &tpcc.LoadDistrict{WID: w, DID: d, Customers: int32(s.Customers), Items: int32(s.Items), CLoad: int32(cLoad), Seed: r.Uint64()})
		}
	}
	return cmds
}

// Load submits the load commands, concurrency at a time; a district after
// its warehouse (the warehouses first, then the rest).
func Load(ctx context.Context, c *Client, s Scale, seed uint64, cLoad, concurrency int) error {
	var first, rest []commands.Command
	for _, cmd := range LoadCommands(s, seed, cLoad) {
		if _, ok := cmd.(*tpcc.LoadWarehouse); ok {
			first = append(first, cmd)
		} else {
			rest = append(rest, cmd)
		}
	}
	for _, wave := range [][]commands.Command{first, rest} {
		if err := submitAll(ctx, c, wave, concurrency); err != nil {
			return err
		}
	}
	return nil
}

// submitAll submits cmds from concurrency goroutines, stopping at the first
// error.
func submitAll(ctx context.Context, c *Client, cmds []commands.Command, concurrency int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan commands.Command)
	errs := make(chan error, concurrency)
	for range concurrency {
		go func() {
			for cmd := range next {
				if err := c.Submit(ctx, cmd, nil); err != nil {
					errs <- fmt.Errorf("load %T %+v: %w", cmd, cmd, err)
					cancel()
					return
				}
			}
			errs <- nil
		}()
	}
	for _, cmd := range cmds {
		select {
		case next <- cmd:
		case <-ctx.Done():
		}
	}
	close(next)
	var first error
	for range concurrency {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
