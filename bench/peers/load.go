package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// result is one load run: operations completed in the measured time and
// their latencies.
type result struct {
	ops     int
	elapsed time.Duration
	lat     []time.Duration // sorted
	// serverCPU and clientCPU are the CPU time the server process and
	// this client used in the measured time.
	serverCPU, clientCPU time.Duration
}

// cpuPerOp is d per operation, in µs.
func (r result) cpuPerOp(d time.Duration) float64 {
	return float64(d) / 1e3 / float64(max(1, r.ops))
}

func (r result) rate() float64 { return float64(r.ops) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(p/100*float64(len(r.lat)-1))]
}

// exchange sends one request on a connection and reads its answer; n is
// unique across the run.
type exchange func(c *conn, n int64) error

// conn is one client connection with its buffers, reused between requests.
type conn struct {
	net.Conn
	r   *bufio.Reader
	buf []byte
}

// drive opens conns connections to addr and runs op on each in a loop for
// warmup plus duration, counting and timing what completes after warmup,
// and the CPU time of the server process pid and of this client.
// Every connection does one request at a time (no pipelining), as
// redis-benchmark and pgbench clients do.
func drive(addr string, pid, conns int, warmup, duration time.Duration, op exchange) (result, error) {
	cs := make([]*conn, conns)
	for i := range cs {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return result{}, err
		}
		defer nc.Close()
		cs[i] = &conn{Conn: nc, r: bufio.NewReaderSize(nc, 16<<10)}
	}
	var seq atomic.Int64
	var measuring, stop atomic.Bool
	lats := make([][]time.Duration, conns)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				t0 := time.Now()
				if err := op(c, seq.Add(1)); err != nil {
					errs[i] = err
					stop.Store(true)
					return
				}
				if measuring.Load() {
					lats[i] = append(lats[i], time.Since(t0))
				}
			}
		}()
	}
	time.Sleep(warmup)
	meter := cpuMeter{pid: pid}
	meter.begin()
	measuring.Store(true)
	began := time.Now()
	time.Sleep(duration)
	measuring.Store(false)
	elapsed := time.Since(began)
	meter.end()
	stop.Store(true)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return result{}, err
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	return result{ops: len(all), elapsed: elapsed, lat: all, serverCPU: meter.server, clientCPU: meter.client}, nil
}

// httpPost is an exchange of HTTP/1.1 keep-alive POSTs of JSON to path,
// the body of the n-th request appended by body. The client is written
// against the wire (a request is one write, the answer read with one
// buffered reader) so that it costs what redis-benchmark's does, not what
// net/http's client does (measured: net/http's client took about as much
// CPU as the server on the same cores).
func httpPost(host, path string, body func(b []byte, n int64) []byte) exchange {
	head := "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: "
	return func(c *conn, n int64) error {
		payload := body(nil, n)
		b := append(c.buf[:0], head...)
		b = strconv.AppendInt(b, int64(len(payload)), 10)
		b = append(b, "\r\n\r\n"...)
		b = append(b, payload...)
		c.buf = b
		if _, err := c.Write(b); err != nil {
			return err
		}
		return readHTTPResponse(c.r)
	}
}

// readHTTPResponse reads one response; anything but 200 is an error that
// quotes the body.
func readHTTPResponse(r *bufio.Reader) error {
	status, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	ok := bytes.HasPrefix(status, []byte("HTTP/1.1 200 "))
	code := string(bytes.TrimSpace(status))
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if name, value, found := bytes.Cut(line, []byte(":")); found && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return fmt.Errorf("Content-Length %q", value)
			}
		}
	}
	if length < 0 {
		return errors.New("a response without Content-Length")
	}
	if ok {
		_, err = r.Discard(length)
		return err
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return err
	}
	return fmt.Errorf("%s: %s", code, body)
}
