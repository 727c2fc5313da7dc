// Package workload drives the TPC-C app (package tpcc) as the
// specification's terminals do: the initial population as load commands,
// then the transaction mix with the specification's input generation
// (NURand, clause 2.1.6; the per-transaction inputs of clauses 2.4.1 to
// 2.8.1) and no keying or think time; New-Order, Payment and Delivery as
// commands over HTTP/JSON, Order-Status and Stock-Level as prepared SQL
// reads over the MySQL protocol. It also checks the specification's
// consistency conditions (clause 3.3.2) over SQL.
package workload

import (
	"math/rand/v2"

	"github.com/imagodb/imago/examples/tpcc"
)

// Scale is the size of a population: the specification's is
// Full(warehouses); tests use less.
type Scale struct {
	Warehouses int
	Items      int // 100,000 in the specification
	Customers  int // per district, and orders per district: 3,000
}

// Full is the specification's scale for w warehouses.
func Full(w int) Scale {
	return Scale{Warehouses: w, Items: tpcc.ItemCount, Customers: tpcc.CustomersPerDistrict}
}

// Constants are the run's NURand constants C (clause 2.1.6): CLoad for the
// last names of the population, CLast, CID and IID for the run.
type Constants struct {
	CLoad, CLast, CID, IID int
}

// NewConstants draws the constants; the run's CLast differs from CLoad by 65
// to 119, but not by 96 or 112 (clause 2.1.6.1).
func NewConstants(r *rand.Rand) Constants {
	c := Constants{CLoad: r.IntN(256), CID: r.IntN(1024), IID: r.IntN(8192)}
	for {
		c.CLast = r.IntN(256)
		delta := c.CLast - c.CLoad
		if delta < 0 {
			delta = -delta
		}
		if delta >= 65 && delta <= 119 && delta != 96 && delta != 112 {
			return c
		}
	}
}

// inputs draws one terminal's transaction inputs.
type inputs struct {
	r     *rand.Rand
	scale Scale
	c     Constants
	home  int32 // the terminal's warehouse (clause 2.4.1.1, 2.5.1.1, ...)
	dist  int32 // the terminal's district, for Stock-Level (clause 2.8.1.1)
}

func (in *inputs) uniform(lo, hi int) int32 { return int32(lo + in.r.IntN(hi-lo+1)) }

func (in *inputs) customerID() int32 {
	return int32(tpcc.NURand(in.r, 1023, 1, in.scale.Customers, in.c.CID))
}

func (in *inputs) lastName() string {
	return tpcc.LastName(tpcc.NURand(in.r, 255, 0, min(999, in.scale.Customers-1), in.c.CLast))
}

func (in *inputs) otherWarehouse() int32 {
	if in.scale.Warehouses == 1 {
		return in.home
	}
	for {
		if w := in.uniform(1, in.scale.Warehouses); w != in.home {
			return w
		}
	}
}

// newOrder is clause 2.4.1: 5 to 15 lines of distinct items, 1% of lines
// supplied by another warehouse, and in 1% of orders an unused item number
// as the last line (the rollback).
func (in *inputs) newOrder() *tpcc.NewOrder {
	c := &tpcc.NewOrder{WID: in.home, DID: in.uniform(1, tpcc.DistrictsPerWarehouse), CID: in.customerID()}
	n := int(in.uniform(5, tpcc.MaxLines))
	rollback := in.r.IntN(100) == 0
	seen := make(map[int32]bool, n)
	for i := range n {
		l := tpcc.LineItem{SupplyWID: in.home, Quantity: in.uniform(1, 10)}
		if rollback && i == n-1 {
			l.IID = int32(in.scale.Items + 1)
		} else {
			for l.IID == 0 || seen[l.IID] {
				l.IID = int32(tpcc.NURand(in.r, 8191, 1, in.scale.Items, in.c.IID))
			}
			seen[l.IID] = true
		}
		if in.scale.Warehouses > 1 && in.r.IntN(100) == 0 {
			l.SupplyWID = in.otherWarehouse()
		}
		c.Lines = append(c.Lines, l)
	}
	return c
}

// payment is clause 2.5.1: 85% paid at the customer's own district, 60% of
// customers chosen by last name, 1.00 to 5,000.00.
func (in *inputs) payment() *tpcc.Payment {
	c := &tpcc.Payment{WID: in.home, DID: in.uniform(1, tpcc.DistrictsPerWarehouse), AmountCents: int64(in.uniform(100, 500_000))}
	c.CWID, c.CDID = c.WID, c.DID
	if in.scale.Warehouses > 1 && in.r.IntN(100) >= 85 {
		c.CWID, c.CDID = in.otherWarehouse(), in.uniform(1, tpcc.DistrictsPerWarehouse)
	}
	if in.r.IntN(100) < 60 {
		c.CLast = in.lastName()
	} else {
		c.CID = in.customerID()
	}
	return c
}

// orderStatus is clause 2.6.1: a customer of the home warehouse, 60% by
// last name; cid is 0 when last is set.
func (in *inputs) orderStatus() (did, cid int32, last string) {
	did = in.uniform(1, tpcc.DistrictsPerWarehouse)
	if in.r.IntN(100) < 60 {
		return did, 0, in.lastName()
	}
	return did, in.customerID(), ""
}

// delivery is clause 2.7.1: a carrier from 1 to 10.
func (in *inputs) delivery() *tpcc.Delivery {
	return &tpcc.Delivery{WID: in.home, CarrierID: in.uniform(1, 10)}
}

// stockLevel is clause 2.8.1: the terminal's district, a threshold from 10
// to 20.
func (in *inputs) stockLevel() (did, threshold int32) {
	return in.dist, in.uniform(10, 20)
}
