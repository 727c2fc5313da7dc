package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/imagodb/imago/examples/tpcc"
)

// The five transactions, in the order reports list them.
const (
	TxNewOrder = iota
	TxPayment
	TxOrderStatus
	TxDelivery
	TxStockLevel
	txCount
)

// TxNames are the transactions' names, by the constants above.
var TxNames = [txCount]string{"New-Order", "Payment", "Order-Status", "Delivery", "Stock-Level"}

// mix is the deck a terminal deals its transactions from (clause 5.2.4.2: a
// card per transaction in a deck shuffled each time it runs out), with the
// weights go-tpc uses: 45% New-Order, 43% Payment, 4% each of the others,
// the specification's minimums (clause 5.2.3).
var mix = [txCount]int{45, 43, 4, 4, 4}

// Config is a run.
type Config struct {
	Scale     Scale
	Constants Constants
	Terminals int           // concurrent terminals, spread over the warehouses
	Duration  time.Duration // how long to run; 0: until Transactions are done
	// Transactions per terminal when Duration is 0.
	Transactions int
	Seed         uint64
}

// Result is what a run measured.
type Result struct {
	Elapsed   time.Duration
	Count     [txCount]int
	Rollbacks int // New-Orders refused for their unused item (counted in Count)
	Latencies [txCount][]time.Duration
}

// TpmC is the New-Orders per minute (rolled back ones included, clause
// 5.4.1.2's measure counts every New-Order completed).
func (r *Result) TpmC() float64 {
	return float64(r.Count[TxNewOrder]) / r.Elapsed.Minutes()
}

// Percentile is the p-th percentile (0 to 100) of transaction tx's latency.
func (r *Result) Percentile(tx int, p float64) time.Duration {
	l := r.Latencies[tx]
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p/100))]
}

// Run runs the mix from cfg.Terminals terminals against the client and
// reports what it measured. A transaction that fails (other than
// New-Order's rollback) stops the run with its error.
func Run(ctx context.Context, c *Client, cfg Config) (*Result, error) {
	reads, err := Prepare(ctx, c.DB)
	if err != nil {
		return nil, err
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	results := make([]*Result, cfg.Terminals)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.Terminals {
		t := &terminal{c: c, reads: reads, res: &Result{}, in: inputs{
			r: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), scale: cfg.Scale, c: cfg.Constants,
			home: int32(i%cfg.Scale.Warehouses + 1), dist: int32(i/cfg.Scale.Warehouses%tpcc.DistrictsPerWarehouse + 1),
		}}
		results[i] = t.res
		wg.Go(func() {
			if err := t.run(ctx, cfg.Transactions); err != nil {
				stop(err)
			}
		})
	}
	wg.Wait()
	total := &Result{Elapsed: time.Since(start)}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return total, err
	}
	for _, r := range results {
		total.Rollbacks += r.Rollbacks
		for tx := range txCount {
			total.Count[tx] += r.Count[tx]
			total.Latencies[tx] = append(total.Latencies[tx], r.Latencies[tx]...)
		}
	}
	for tx := range txCount {
		slices.Sort(total.Latencies[tx])
	}
	return total, nil
}

type terminal struct {
	c     *Client
	reads *Reads
	in    inputs
	res   *Result
	deck  []int
}

// deal returns the next transaction of the shuffled deck.
func (t *terminal) deal() int {
	if len(t.deck) == 0 {
		for tx, n := range mix {
			for range n {
				t.deck = append(t.deck, tx)
			}
		}
		t.in.r.Shuffle(len(t.deck), func(i, j int) { t.deck[i], t.deck[j] = t.deck[j], t.deck[i] })
	}
	tx := t.deck[len(t.deck)-1]
	t.deck = t.deck[:len(t.deck)-1]
	return tx
}

func (t *terminal) run(ctx context.Context, transactions int) error {
	for n := 0; transactions == 0 || n < transactions; n++ {
		tx := t.deal()
		began := time.Now()
		err := t.do(ctx, tx)
		if ctx.Err() != nil {
			return nil // the run ended during the transaction: not counted
		}
		var refused *RefusedError
		if tx == TxNewOrder && errors.As(err, &refused) {
			t.res.Rollbacks++
			err = nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", TxNames[tx], err)
		}
		t.res.Count[tx]++
		t.res.Latencies[tx] = append(t.res.Latencies[tx], time.Since(began))
	}
	return nil
}

func (t *terminal) do(ctx context.Context, tx int) error {
	switch tx {
	case TxNewOrder:
		var out tpcc.NewOrderResult
		return t.c.Submit(ctx, t.in.newOrder(), &out)
	case TxPayment:
		var out tpcc.PaymentResult
		return t.c.Submit(ctx, t.in.payment(), &out)
	case TxOrderStatus:
		did, cid, last := t.in.orderStatus()
		_, err := t.reads.OrderStatus(ctx, t.c.DB, t.in.home, did, cid, last)
		return err
	case TxDelivery:
		var out tpcc.DeliveryResult
		return t.c.Submit(ctx, t.in.delivery(), &out)
	default:
		did, threshold := t.in.stockLevel()
		_, err := t.reads.StockLevel(ctx, t.c.DB, t.in.home, did, threshold)
		return err
	}
}
