package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves the API on a listener. A request that submits commands
// (POST /v1/commands/{name} and POST /v1/commands: the write path) is read
// and answered by the server's own HTTP/1.1 loop and handed to the API's
// handler as an *http.Request; a connection whose request is anything else,
// or anything the loop does not fully understand (no Content-Length, a
// Transfer-Encoding, an Expect, HTTP/1.0, a header section over 4 KiB, an
// invalid header line, a query string, ...), is handed whole, with the
// bytes already read, to net/http for the rest of its life.
//
// Why: net/http costs a connection's request about 30 µs of CPU more than a
// loop that reads the request and writes the answer in one system call each
// (measured on this machine: 56 µs against 21-29 µs per request, client
// and server together, with an empty handler), mostly because for every
// request whose body it has read it starts a background read of the
// connection and then aborts it by moving the read deadline twice. The
// write path's requests are small and alike; net/http keeps everything
// else (streams, checkpoints, admin) and every odd request.
//
// The loop keeps net/http's limits: a request's header and body must each
// arrive within ReadHeaderTimeout (BodyTimeout for the body) once begun, a
// connection may wait IdleTimeout (from half of it to all of it) for its
// next request, and a body over MaxBody goes to net/http (which answers 413
// through the handler). Unlike net/http, a request's context does not end
// when its client goes away: a command's submitter waits for its durable
// commit either way.
type Server struct {
	// HTTP serves the connections handed over; its Handler is the API's
	// handler, and its ReadHeaderTimeout and IdleTimeout are the loop's too.
	HTTP *http.Server
	// MaxBody is the largest body the loop reads itself (Config.MaxBody).
	MaxBody int64
	// BodyTimeout is how long a body may take once its header arrived
	// (Config.BodyTimeout).
	BodyTimeout time.Duration

	closing  atomic.Bool
	mu       sync.Mutex
	conns    map[*frontConn]struct{}
	wg       sync.WaitGroup
	handoff  *handoffListener
	listener net.Listener
}

// NewServer returns a Server of handler (made by NewHandler with cfg) with
// srv's timeouts; srv.Handler is set to handler.
func NewServer(handler http.Handler, cfg Config, srv *http.Server) *Server {
	srv.Handler = handler
	s := &Server{HTTP: srv, MaxBody: cfg.MaxBody, BodyTimeout: cfg.BodyTimeout, conns: map[*frontConn]struct{}{}}
	if s.MaxBody <= 0 {
		s.MaxBody = DefaultMaxBody
	}
	if s.BodyTimeout <= 0 {
		s.BodyTimeout = DefaultBodyTimeout
	}
	s.handoff = &handoffListener{conns: make(chan net.Conn), done: make(chan struct{})}
	return s
}

// Serve accepts connections on ln until Shutdown; it returns
// http.ErrServerClosed then, or the listener's error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.listener = ln
	s.handoff.addr = ln.Addr()
	s.mu.Unlock()
	go s.HTTP.Serve(s.handoff)
	for delay := time.Duration(0); ; {
		c, err := ln.Accept()
		if s.closing.Load() {
			if c != nil {
				c.Close()
			}
			return http.ErrServerClosed
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() { // as net/http: back off and go on
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		fc := &frontConn{Conn: c, s: s, r: bufio.NewReaderSize(c, frontBuffer)}
		s.mu.Lock()
		s.conns[fc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go fc.serve()
	}
}

// Shutdown stops accepting, lets the requests in flight finish and closes
// the idle connections, then shuts net/http down (its OnShutdown hooks run
// then); as http.Server.Shutdown, it gives up when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	if s.listener != nil {
		s.listener.Close()
	}
	for fc := range s.conns {
		if fc.idle.Load() {
			fc.SetReadDeadline(time.Now()) // wakes its read; it then sees closing
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(ctx.Err(), s.HTTP.Shutdown(ctx))
	}
	return s.HTTP.Shutdown(ctx)
}

// frontBuffer is a connection's read buffer: a request whose header
// section does not fit goes to net/http.
const frontBuffer = 4 << 10

// frontConn is a connection served by the loop.
type frontConn struct {
	net.Conn
	s        *Server
	r        *bufio.Reader
	idle     atomic.Bool // waiting for a request (Shutdown may wake it)
	deadline time.Time   // the read deadline in force
	body     []byte      // the last request's body, reused
	out      []byte      // the last response, reused
	ctx      context.Context
	remote   string // RemoteAddr, formatted once
}

// serve reads and answers requests until the connection ends or is handed
// to net/http.
func (fc *frontConn) serve() {
	defer fc.s.wg.Done()
	handed := false
	defer func() {
		fc.s.mu.Lock()
		delete(fc.s.conns, fc)
		fc.s.mu.Unlock()
		if !handed {
			fc.Close()
		}
	}()
	fc.remote = fc.RemoteAddr().String()
	fc.ctx = context.WithValue(context.WithValue(context.Background(), http.ServerContextKey, fc.s.HTTP), http.LocalAddrContextKey, fc.LocalAddr())
	for {
		if !fc.waitForRequest() {
			return
		}
		head, ok := fc.readHead()
		if !ok {
			return
		}
		req := parseHead(head)
		if req == nil || req.contentLength > fc.s.MaxBody {
			handed = fc.handOver()
			return
		}
		fc.r.Discard(len(head))
		if !fc.answer(req) {
			return
		}
	}
}

// waitForRequest waits for the first byte of the next request, at most
// IdleTimeout; it is false when the connection should end.
func (fc *frontConn) waitForRequest() bool {
	if fc.r.Buffered() == 0 {
		if idle := fc.s.HTTP.IdleTimeout; idle > 0 {
			// Moving a deadline costs a timer update: only when half of
			// the wait allowed is gone.
			if now := time.Now(); fc.deadline.Sub(now) < idle/2 {
				fc.setDeadline(now.Add(idle))
			}
		} else if !fc.deadline.IsZero() {
			fc.setDeadline(time.Time{})
		}
	}
	fc.idle.Store(true)
	if fc.s.closing.Load() {
		return false
	}
	_, err := fc.r.Peek(1)
	fc.idle.Store(false)
	return err == nil && !fc.s.closing.Load()
}

func (fc *frontConn) setDeadline(t time.Time) {
	fc.deadline = t
	fc.SetReadDeadline(t)
}

// readHead returns the request's header section, up to and with the blank
// line, still in the reader's buffer (nothing is consumed: a request the
// loop does not serve goes to net/http whole). It is nil if the section
// does not fit the buffer, ok false if the connection failed.
func (fc *frontConn) readHead() (head []byte, ok bool) {
	limited := false
	for {
		buf, _ := fc.r.Peek(fc.r.Buffered())
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			return buf[:i+4], true
		}
		if len(buf) >= frontBuffer {
			return nil, true
		}
		if !limited {
			if t := fc.s.HTTP.ReadHeaderTimeout; t > 0 {
				fc.setDeadline(time.Now().Add(t))
			}
			limited = true
		}
		if _, err := fc.r.Peek(len(buf) + 1); err != nil {
			return nil, false
		}
	}
}

// handOver gives the connection, with what was read of it, to net/http.
func (fc *frontConn) handOver() bool {
	fc.setDeadline(time.Time{})
	select {
	case fc.s.handoff.conns <- &readerConn{Conn: fc.Conn, r: fc.r}:
		return true
	case <-fc.s.handoff.done:
		return false
	}
}

// answer reads req's body, runs the handler and writes its response; it is
// false when the connection should end.
func (fc *frontConn) answer(req *frontRequest) bool {
	n := int(req.contentLength)
	if fc.r.Buffered() < n {
		fc.setDeadline(time.Now().Add(fc.s.BodyTimeout))
	}
	if cap(fc.body) < n {
		fc.body = make([]byte, n)
	}
	fc.body = fc.body[:n]
	if _, err := io.ReadFull(fc.r, fc.body); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) { // as the handler answers a slow body under net/http
			w := &bufferedResponse{header: make(http.Header, 4)}
			writeError(w, http.StatusRequestTimeout, codeTimeout, (&slowBodyError{limit: fc.s.BodyTimeout}).Error())
			fc.Write(w.appendTo(fc.out[:0], true))
		}
		return false
	}
	r, err := http.NewRequestWithContext(fc.ctx, http.MethodPost, req.target, bytes.NewReader(fc.body))
	if err != nil {
		return false // parseHead accepted only targets that parse
	}
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.Header, r.Host, r.RequestURI, r.RemoteAddr = req.header, req.host, req.target, fc.remote
	r.Close = req.close
	w := &bufferedResponse{header: make(http.Header, 4)}
	if !fc.s.handle(w, r) {
		return false
	}
	closing := req.close || fc.s.closing.Load()
	fc.out = w.appendTo(fc.out[:0], closing)
	if _, err := fc.Write(fc.out); err != nil {
		return false
	}
	return !closing
}

// handle runs the handler; a panic ends the connection without an answer
// and is logged, as net/http does.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				s.logf("api: panic serving %s %s: %v\n%s", r.Method, r.URL.Path, p, buf)
			}
			ok = false
		}
	}()
	s.HTTP.Handler.ServeHTTP(w, r)
	return true
}

func (s *Server) logf(format string, args ...any) {
	if s.HTTP.ErrorLog != nil {
		s.HTTP.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// frontRequest is what the loop needs of a request's header section.
type frontRequest struct {
	target        string
	host          string
	header        http.Header
	contentLength int64
	close         bool
}

// parseHead parses a request's header section (with its final blank line)
// if the loop serves it: a POST of HTTP/1.1 to /v1/commands or
// /v1/commands/{name} without query, with one Host and one Content-Length,
// no Transfer-Encoding, no Expect, a Connection of keep-alive or close,
// and header lines that net/http would accept as they are. Otherwise it
// is nil and net/http serves the request.
func parseHead(head []byte) *frontRequest {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	target, ok := bytes.CutPrefix(line, []byte("POST "))
	if !ok {
		return nil
	}
	target, ok = bytes.CutSuffix(target, []byte(" HTTP/1.1"))
	if !ok || !commandTarget(target) {
		return nil
	}
	req := &frontRequest{target: string(target), header: make(http.Header, 8), contentLength: -1}
	for {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !validHeaderName(name) {
			return nil
		}
		value = bytes.Trim(value, " \t")
		if !validHeaderValue(value) {
			return nil
		}
		key := textproto.CanonicalMIMEHeaderKey(string(name))
		v := string(value)
		switch key {
		case "Host": // r.Host, not a header, as net/http does
			if req.host != "" || !plainHost(v) {
				return nil
			}
			req.host = v
			continue
		case "Content-Length":
			n, err := strconv.ParseInt(v, 10, 64)
			if req.contentLength >= 0 || err != nil || n < 0 || v[0] == '+' {
				return nil
			}
			req.contentLength = n
		case "Transfer-Encoding", "Expect", "Upgrade", "Trailer":
			return nil
		case "Connection":
			switch {
			case asciiEqualFold(v, "close"):
				req.close = true
			case asciiEqualFold(v, "keep-alive"):
			default:
				return nil
			}
		}
		req.header[key] = append(req.header[key], v)
	}
	if req.host == "" || req.contentLength < 0 {
		return nil
	}
	return req
}

// commandTarget tells whether a request target is /v1/commands or
// /v1/commands/{name} with a name of letters, digits, '_', '-' and '.'
// (anything else, escapes and queries too, goes to net/http).
func commandTarget(t []byte) bool {
	name, ok := bytes.CutPrefix(t, []byte("/v1/commands"))
	if !ok {
		return false
	}
	if len(name) == 0 {
		return true
	}
	name, ok = bytes.CutPrefix(name, []byte("/"))
	if !ok || len(name) == 0 || name[0] == '.' {
		return false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// plainHost tells whether a Host is a name or address with an optional
// port, of characters net/http accepts in any Host (the rest goes to it).
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_') {
			return false
		}
	}
	return true
}

// validHeaderName: a token (RFC 9110 5.1).
func validHeaderName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue: no control characters but tab (RFC 9110 5.5).
func validHeaderValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// bufferedResponse is the ResponseWriter of a request the loop serves: the
// whole response is written in one system call once the handler returns.
// It supports no Flush, hijacking or write deadlines (http.ResponseController
// says so): the endpoints the loop serves need none.
type bufferedResponse struct {
	header http.Header
	status int
	body   []byte
}

func (w *bufferedResponse) Header() http.Header { return w.header }

// SetReadDeadline does nothing: the loop read the body whole before the
// handler ran. (Answering http.ErrNotSupported instead cost an fmt.Errorf
// per request, 1.5% of an HTTP set's server CPU.)
func (w *bufferedResponse) SetReadDeadline(time.Time) error { return nil }

func (w *bufferedResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, p...)
	return len(p), nil
}

// appendTo appends the response, as net/http would send it, to b.
func (w *bufferedResponse) appendTo(b []byte, closing bool) []byte {
	w.WriteHeader(http.StatusOK)
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, "\r\n"...)
	for k, vs := range w.header {
		if k == "Content-Length" || k == "Connection" || k == "Date" || k == "Transfer-Encoding" {
			continue // the loop's own
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendHeaderValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(w.body)), 10)
	b = append(b, "\r\nDate: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	if closing {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	return append(b, w.body...)
}

// appendHeaderValue appends v with line breaks as spaces, as net/http
// writes header values.
func appendHeaderValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// handoffListener is the listener net/http serves: the connections the
// loop hands over.
type handoffListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// readerConn is a connection handed to net/http: its reads begin with
// what the loop had buffered.
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }
