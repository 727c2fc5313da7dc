package replica

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// errGone is the primary's 410: its log no longer holds the replica's next
// seq (truncated after a checkpoint).
var errGone = errors.New("the primary's log no longer holds the next seq")

// maxBatch bounds the entries applied together.
const maxBatch = 1024

// Run follows the primary until ctx ends: it streams the log after the
// replica's last seq and applies it, reconnecting with backoff after an
// error, and bootstrapping again when the primary answers 410.
func (r *Replica) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	r.mu.Lock()
	r.stopFollow = stop
	r.mu.Unlock()
	wait := r.cfg.MinBackoff
	goneAt := uint64(0) // the seq a 410 last refused, plus one
	for ctx.Err() == nil {
		r.setState("connecting")
		from := r.DB().View().Seq + 1
		progressed, err := r.follow(ctx)
		if d := r.Status().Diverged; d != nil {
			err = d
		} else if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errDiverged) {
			r.cfg.Logger.Error("the replica diverged from its primary; it stops applying and serves the last state it verified and what follows up to the seq it found different", "err", err)
			return err
		}
		if errors.Is(err, errRedacted) {
			if err = r.rebootstrapRedacted(ctx); err == nil {
				continue
			}
		}
		if errors.Is(err, errGone) {
			if goneAt == from+1 {
				// A fresh bootstrap lands where the primary's log does not
				// reach: no checkpoint of this projection covers it.
				err = fmt.Errorf("%w, and the primary has no checkpoint of this projection that reaches it: the replica cannot be built (an app that is not the primary's needs its whole log)", err)
			} else if err = r.rebootstrap(ctx, err); err == nil {
				goneAt = r.DB().View().Seq + 2
				continue
			}
		}
		if progressed {
			wait = r.cfg.MinBackoff
		}
		r.failed(err, wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil
		}
		wait = min(2*wait, r.cfg.MaxBackoff)
	}
	return nil
}

// failed records why the stream ended.
func (r *Replica) failed(err error, retry time.Duration) {
	r.mu.Lock()
	r.st.State = "waiting to reconnect"
	if err != nil {
		r.st.LastError = err.Error()
	}
	r.mu.Unlock()
	r.cfg.Logger.Warn("replica lost its primary; reconnecting", "primary", r.cfg.Primary, "retry_in", retry, "err", err)
}

// rebootstrap sets the data aside and bootstraps again; gone is the
// primary's 410 (its message names the checkpoint to start from).
func (r *Replica) rebootstrap(ctx context.Context, gone error) error {
	r.cfg.Logger.Warn("the primary's log no longer holds what this replica needs: bootstrapping again", "seq", r.DB().View().Seq+1, "err", gone)
	if err := r.Close(); err != nil {
		return err
	}
	if err := r.setAside(); err != nil {
		return err
	}
	return r.reopen(ctx)
}

// reopen opens the replica's data directory again once its copy was set
// aside or removed, bootstrapping it from the primary. While the primary
// does not answer (stopped, unreachable, failing), it retries with the
// reconnection's backoff, logging each failure, until the bootstrap
// succeeds or ctx ends: a replica that lost its copy must not stay closed
// because the primary was away at that moment. A failed bootstrap leaves
// no log directory (the log is created last), so each try starts over,
// and a checkpoint download resumes where the last one stopped.
func (r *Replica) reopen(ctx context.Context) error {
	wait := r.cfg.MinBackoff
	for {
		err := r.open(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.mu.Lock()
		r.st.State, r.st.LastError = "waiting to bootstrap again", err.Error()
		r.mu.Unlock()
		r.cfg.Logger.Warn("replica cannot bootstrap again from its primary; retrying", "primary", r.cfg.Primary, "retry_in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(2*wait, r.cfg.MaxBackoff)
	}
}

// line is a line of GET /v1/log?format=raw: an entry, a heartbeat or the
// error that ended the stream.
type line struct {
	Seq       uint64
	Value     []byte
	Heartbeat *struct {
		DurableSeq     uint64 `json:"durable_seq"`
		Image          *imageAt
		RedactionEpoch uint64 `json:"redaction_epoch"`
	}
	Error *struct{ Code, Message string }
}

// imageAt is the primary's image hash at a seq (its last checkpoint).
type imageAt struct {
	Seq         uint64
	Hash        string
	Fingerprint string
}

// follow streams and applies entries until the stream ends; progressed
// tells whether anything was applied.
func (r *Replica) follow(ctx context.Context) (progressed bool, err error) {
	db := r.DB()
	from := db.View().Seq + 1
	resp, err := r.get(ctx, "/v1/log?format=raw&follow=true&from="+strconv.FormatUint(from, 10), nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	r.setState("streaming")
	in := bufio.NewReaderSize(resp.Body, 1<<20)
	var seqs []uint64
	var values [][]byte
	for {
		b, err := in.ReadBytes('\n')
		if err != nil {
			// The whole lines before the break are applied (a line cut
			// short is not): the next stream starts after them.
			if len(seqs) > 0 {
				if err := db.Replicate(ctx, seqs, values); err != nil {
					return progressed, err
				}
				progressed = true
				r.heard(seqs[len(seqs)-1], seqs[len(seqs)-1])
			}
			return progressed, fmt.Errorf("the log stream ended: %w", err)
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			return progressed, fmt.Errorf("the log stream: %w", err)
		}
		switch {
		case l.Error != nil:
			return progressed, fmt.Errorf("the primary: %s", l.Error.Message)
		case l.Heartbeat != nil:
			if err := r.checkEpoch(l.Heartbeat.RedactionEpoch); err != nil {
				return progressed, err // before the image hash: the primary's is of the redacted image
			}
			r.heard(l.Heartbeat.DurableSeq, db.View().Seq)
			r.expect(l.Heartbeat.Image, db)
			r.acknowledge(ctx, db.View().Seq)
			continue
		}
		seqs, values = append(seqs, l.Seq), append(values, l.Value)
		// Apply what has arrived: a batch ends where the stream pauses,
		// and at a seq whose image is to be compared with the primary's.
		check := r.checkAt() == l.Seq
		if in.Buffered() > 0 && len(seqs) < maxBatch && !check {
			continue
		}
		if err := db.Replicate(ctx, seqs, values); err != nil {
			return progressed, err
		}
		progressed = true
		r.heard(seqs[len(seqs)-1], seqs[len(seqs)-1])
		seqs, values = seqs[:0], values[:0]
		if check {
			if err := r.compare(db); err != nil {
				return progressed, err
			}
		}
	}
}

// acknowledge tells the primary, in the background, that the replica
// applied and logged its log up to seq (POST /v1/replicas/{name}/ack): its
// slot then holds truncation back from there and imago.replicas shows the
// lag from there. Once per heartbeat, one at a time; a failure is only
// logged (the next heartbeat sends a newer seq, and a stream's start
// acknowledges the seq before it).
func (r *Replica) acknowledge(ctx context.Context, seq uint64) {
	if r.cfg.Name == "" || !r.acking.CompareAndSwap(false, true) {
		return
	}
	r.acks.Add(1)
	go func() {
		defer r.acks.Done()
		defer r.acking.Store(false)
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a primary that hangs does not hold Close
		defer cancel()
		body := strings.NewReader(`{"seq":` + strconv.FormatUint(seq, 10) + `}`)
		resp, err := r.request(ctx, http.MethodPost, "/v1/replicas/"+url.PathEscape(r.cfg.Name)+"/ack",
			http.Header{"Content-Type": {"application/json"}}, body)
		if err != nil {
			r.cfg.Logger.Debug("replica: acknowledge to the primary", "seq", seq, "err", err)
			return
		}
		resp.Body.Close()
	}()
}

// get requests path of the primary with the replica's token and name; a
// status other than 200 and 206 is an error (410: errGone).
func (r *Replica) get(ctx context.Context, path string, header http.Header) (*http.Response, error) {
	return r.request(ctx, http.MethodGet, path, header, nil)
}

// request sends a request to the primary with the replica's token and
// name; a status other than 200, 204 and 206 is an error (410: errGone).
func (r *Replica) request(ctx context.Context, method, path string, header http.Header, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.cfg.Primary+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if r.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	if r.cfg.Name != "" {
		req.Header.Set("Imago-Replica", r.cfg.Name)
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent, http.StatusPartialContent:
		return resp, nil
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	err = fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(answer))
	if resp.StatusCode == http.StatusGone {
		err = fmt.Errorf("%w: %w", errGone, err)
	}
	return nil, err
}
