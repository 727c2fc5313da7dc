package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/imagodb/imago/commands"
)

// DefaultBodyTimeout is the default of Config.BodyTimeout.
const DefaultBodyTimeout = 10 * time.Second

// Error codes of reading a body.
const (
	codeTimeout          = "request_timeout"
	codeUnsupportedMedia = "unsupported_media_type"
)

// body is the request's body, if it is JSON (else it answers 415 and ok is
// false: a web page may send text/plain or a form to another origin without
// asking, but not JSON), limited in size to Config.MaxBody and in time to
// Config.BodyTimeout from now: a client that trickles a body would
// otherwise hold its handler (and goroutine) as long as it likes. Call
// done once the body was read whole: the deadline must not outlive it, or
// the server's background read would cancel the request while its command
// is applied. After an error, leave it: the server then discards the rest
// of the body, and only the deadline bounds that.
func (h *handler) body(w http.ResponseWriter, r *http.Request) (body io.Reader, done func(), ok bool) {
	if r.ContentLength != 0 { // an empty body is refused as such, whatever its type
		if err := checkJSONType(r.Header.Get("Content-Type")); err != nil {
			writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedMedia, err.Error())
			return nil, nil, false
		}
	}
	body = http.MaxBytesReader(w, r.Body, h.maxBody)
	rc := http.NewResponseController(w)
	if h.bodyTimeout <= 0 || rc.SetReadDeadline(time.Now().Add(h.bodyTimeout)) != nil {
		return body, func() {}, true // no deadline wanted, or none possible (a test's recorder)
	}
	return &timedBody{r: body, limit: h.bodyTimeout}, func() { rc.SetReadDeadline(time.Time{}) }, true
}

// checkJSONType accepts application/json, with charset=utf-8 at most.
func checkJSONType(contentType string) error {
	const want = "send the body as JSON with the header Content-Type: application/json (curl: -H 'Content-Type: application/json')"
	if contentType == "" {
		return fmt.Errorf("no Content-Type: %s", want)
	}
	if contentType == "application/json" { // what clients send; ParseMediaType allocates
		return nil
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "application/json" {
		return fmt.Errorf("Content-Type %q: %s", contentType, want)
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return fmt.Errorf("Content-Type %q: JSON is UTF-8; %s", contentType, want)
		}
	}
	return nil
}

// timedBody turns the connection's deadline error into a *slowBodyError.
type timedBody struct {
	r     io.Reader
	limit time.Duration
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = &slowBodyError{limit: b.limit}
	}
	return n, err
}

// slowBodyError is a body that did not arrive within Config.BodyTimeout.
type slowBodyError struct{ limit time.Duration }

func (e *slowBodyError) Error() string {
	return fmt.Sprintf("the body did not arrive within %v; send it whole at once", e.limit)
}

// idempotencyKey reads the Idempotency-Key header: "" if there is none, or
// a 400's message if it is not one key (given twice, not UTF-8, or not a
// valid key). A header is bytes, not text, so invalid UTF-8 is checked
// here rather than left to become U+FFFD, accepted, and refused later.
func idempotencyKey(h http.Header) (key, problem string) {
	values, given := h["Idempotency-Key"]
	switch {
	case !given:
		return "", ""
	case len(values) > 1:
		return "", fmt.Sprintf("header Idempotency-Key: given %d times, send it once", len(values))
	case !utf8.ValidString(values[0]):
		return "", fmt.Sprintf("header Idempotency-Key: %q is not valid UTF-8", values[0])
	}
	if err := commands.CheckKey(values[0]); err != nil {
		return "", "header Idempotency-Key: " + err.Error()
	}
	return values[0], ""
}
