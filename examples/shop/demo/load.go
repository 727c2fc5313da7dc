package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/imagodb/imago/cli"
	"github.com/imagodb/imago/examples/shop"
)

type demoFlags struct {
	httpAddr    string
	token       string
	concurrency int
	prefix      string
	period      time.Duration
	opts        Options
}

// Command is `imago demo load`: it loads a planned shop into a running
// server through its HTTP API.
func Command() *cobra.Command {
	cmd := &cobra.Command{Use: "demo", Short: "Demo data for the shop app"}
	var f demoFlags
	load := &cobra.Command{
		Use:   "load",
		Short: "Load a realistic shop into a running server through its HTTP API",
		Long: `load plans a shop (products in categories, customers across countries,
orders that are placed, paid, shipped or cancelled) with a history over the
--period up to now: customers register over it as the shop grows, orders
follow seasons, weekdays and hours, each is paid hours and shipped days
later. It imports that history into a running imago serve --app shop with
its times (POST /v1/admin/import: an admin token), so a new data directory
is wanted: an import may not go before the log's last command. With
--period 0 every command is submitted now instead, with --concurrency
clients. Ids carry a prefix unique to the load.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cli.BindEnv(cmd); err != nil {
				return err
			}
			return demoLoad(f)
		},
	}
	fl := load.Flags()
	fl.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "HTTP address of the running server")
	fl.StringVar(&f.token, "token", "", "bearer token to send, when the server requires tokens")
	fl.IntVar(&f.opts.Customers, "customers", 2000, "customers to register")
	fl.IntVar(&f.opts.Products, "products", 200, "products to add")
	fl.IntVar(&f.opts.Orders, "orders", 20000, "orders to place (each then paid, shipped or cancelled, or left placed)")
	fl.DurationVar(&f.period, "period", 365*24*time.Hour, "how long the shop's history is, up to now (0: every command now, through the write API)")
	fl.IntVar(&f.concurrency, "concurrency", 16, "concurrent HTTP clients (with --period 0)")
	fl.Uint64Var(&f.opts.Seed, "seed", 1, "seed of the plan: the same seed plans the same shop")
	fl.StringVar(&f.prefix, "prefix", "", "prefix of ids and emails (default: random, so that loads add up)")
	cmd.AddCommand(load)
	return cmd
}

func demoLoad(f demoFlags) error {
	switch {
	case f.opts.Customers < 1 || f.opts.Products < 1 || f.opts.Orders < 0:
		return fmt.Errorf("--customers and --products must be at least 1 and --orders at least 0")
	case f.concurrency < 1 || f.concurrency > 1024:
		return fmt.Errorf("--concurrency %d: want 1 to 1024", f.concurrency)
	case f.period < 0:
		return fmt.Errorf("--period %v: want a duration of 0 or more", f.period)
	}
	f.opts.Prefix = f.prefix
	if f.opts.Prefix == "" {
		f.opts.Prefix = strconv.FormatUint(rand.Uint64()%(36*36*36*36), 36)
	}
	now := time.Now()
	f.opts.End, f.opts.Start = now, now.Add(-f.period)
	plan := New(f.opts)
	l := &loader{
		base:      cli.ServerURL(f.httpAddr, "/v1/commands/"),
		importURL: cli.ServerURL(f.httpAddr, "/v1/admin/import"),
		token:     f.token,
		client:    &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: f.concurrency}},
	}
	prog := startProgress(os.Stderr, plan.Commands())
	l.progress = prog
	start := time.Now()
	var err error
	if f.period > 0 {
		err = l.loadHistory(plan)
	} else {
		err = l.run(plan, f.concurrency)
	}
	prog.stop()
	if err != nil {
		return fmt.Errorf("demo load stopped after %d commands: %w", l.sent.Load(), err)
	}
	d := time.Since(start)
	fmt.Printf("loaded %d products, %d customers, %d orders (%d paid, %d shipped, %d cancelled) with prefix %s\n",
		len(plan.Products), len(plan.Customers), len(plan.Orders), l.paid.Load(), l.shipped.Load(), l.cancelled.Load(), f.opts.Prefix)
	if f.period > 0 {
		fmt.Printf("history from %s to %s\n", plan.Start.Format(time.DateOnly), plan.End.Format(time.DateOnly))
	}
	fmt.Printf("%d commands (%d restocks) in %.1fs: %.0f commands/s\n", l.sent.Load(), l.restocks.Load(), d.Seconds(), float64(l.sent.Load())/d.Seconds())
	return nil
}

// loader submits a plan.
type loader struct {
	base      string
	importURL string
	token     string
	client    *http.Client
	progress  *progress

	sent, restocks, paid, shipped, cancelled atomic.Int64
}

// run submits the products, then the customers, then the orders, each phase
// with n concurrent clients; the first error stops the load.
func (l *loader) run(plan *Plan, n int) error {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	phase := func(count int, job func(i int) error) error {
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				for i := range jobs {
					if err := job(i); err != nil {
						cancel(err)
					}
				}
			})
		}
		for i := 0; i < count && ctx.Err() == nil; i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		return context.Cause(ctx)
	}
	if err := phase(len(plan.Products), func(i int) error { return l.submit("add_product", &plan.Products[i], nil) }); err != nil {
		return err
	}
	if err := phase(len(plan.Customers), func(i int) error { return l.submit("register_customer", &plan.Customers[i], nil) }); err != nil {
		return err
	}
	return phase(len(plan.Orders), func(i int) error { return l.order(&plan.Orders[i]) })
}

// order takes one order through its lifecycle. A product that sold out is
// restocked and the order placed again, as a shop would.
func (l *loader) order(o *Order) error {
	var placed struct {
		TotalCents int64 `json:"total_cents"`
	}
	for attempt := 0; ; attempt++ {
		err := l.submit("place_order", &o.Place, &placed)
		var refused *refusal
		if err == nil || !errors.As(err, &refused) || !strings.Contains(refused.msg, "insufficient stock") || attempt == 3 {
			if err != nil {
				return err
			}
			break
		}
		for _, line := range o.Place.Lines {
			if err := l.submit("restock", &shop.Restock{SKU: line.SKU, Quantity: 200 + line.Quantity}, nil); err != nil {
				return err
			}
			l.restocks.Add(1)
			l.progress.grow(1)
		}
	}
	if o.Pay {
		if err := l.submit("pay_order", &shop.PayOrder{OrderID: o.Place.OrderID, AmountCents: placed.TotalCents}, nil); err != nil {
			return err
		}
		l.paid.Add(1)
	}
	if o.Ship {
		if err := l.submit("ship_order", &shop.ShipOrder{OrderID: o.Place.OrderID}, nil); err != nil {
			return err
		}
		l.shipped.Add(1)
	}
	if o.Cancel != "" {
		if err := l.submit("cancel_order", &shop.CancelOrder{OrderID: o.Place.OrderID, Reason: o.Cancel}, nil); err != nil {
			return err
		}
		l.cancelled.Add(1)
	}
	return nil
}

// post sends body as JSON to url, with the token if there is one.
func (l *loader) post(url string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("--http-addr: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if l.token != "" {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	return l.client.Do(req)
}

// refusal is a command the server did not accept: its status and message.
type refusal struct {
	command string
	status  int
	msg     string
}

func (r *refusal) Error() string { return fmt.Sprintf("%s: %d %s", r.command, r.status, r.msg) }

// submit posts one command and decodes its result into result (if not nil).
func (l *loader) submit(name string, body, result any) error {
	resp, err := l.post(l.base+name, body)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &refusal{command: name, status: resp.StatusCode, msg: cli.ResponseError(resp).Error()}
	}
	var ok struct{ Result json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&ok); err != nil {
		return fmt.Errorf("%s: answer: %w", name, err)
	}
	l.sent.Add(1)
	l.progress.add(1)
	if result != nil {
		return json.Unmarshal(ok.Result, result)
	}
	return nil
}

// progress reports a load's progress on w: a bar redrawn in place when w is
// a terminal, a line every few seconds otherwise.
type progress struct {
	w        io.Writer
	total    atomic.Int64 // grows with restocks, which no plan foresees
	done     atomic.Int64
	started  time.Time
	terminal bool
	quit     chan struct{}
	finished sync.WaitGroup
}

func startProgress(w *os.File, total int) *progress {
	p := &progress{w: w, started: time.Now(), quit: make(chan struct{})}
	p.total.Store(int64(total))
	if fi, err := w.Stat(); err == nil {
		p.terminal = fi.Mode()&os.ModeCharDevice != 0
	}
	every := 5 * time.Second
	if p.terminal {
		every = 200 * time.Millisecond
	}
	p.finished.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.report(false)
			case <-p.quit:
				p.report(true)
				return
			}
		}
	})
	return p
}

func (p *progress) add(n int) { p.done.Add(int64(n)) }

func (p *progress) grow(n int) { p.total.Add(int64(n)) }

func (p *progress) stop() {
	close(p.quit)
	p.finished.Wait()
}

func (p *progress) report(last bool) {
	done, total := p.done.Load(), p.total.Load()
	elapsed := time.Since(p.started).Seconds()
	rate := float64(done) / max(elapsed, 1e-3)
	eta := "?"
	if rate > 0 && done <= total {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100 * float64(min(done, total)) / float64(max(total, 1))
	if !p.terminal {
		fmt.Fprintf(p.w, "demo load: %d/%d commands (%.0f%%), %.0f commands/s, eta %s\n", done, total, pct, rate, eta)
		return
	}
	const width = 30
	fill := int(pct / 100 * width)
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	fmt.Fprintf(p.w, "\r%s %3.0f%% %d/%d commands  %.0f/s  eta %-8s", bar, pct, done, total, rate, eta)
	if last {
		fmt.Fprintln(p.w)
	}
}
