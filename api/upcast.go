package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
)

// VersionHeader names the version of the command a client sends: a client
// built against an older version keeps working after the server upgraded,
// its body upcast by the app's upcasters as the log's old entries are.
// Without it the body is of the command's current version.
const VersionHeader = "Imago-Command-Version"

// codeRetired: the command sent was retired by the app's upcasters.
const codeRetired = "retired"

// upcasting is what a Backend offers to upcast submissions of old
// versions; *imago.DB has it (a Backend without it refuses old versions).
type upcasting interface {
	Upcaster() envelope.Upcaster
}

// commandVersion reads VersionHeader: 0 when absent.
func commandVersion(h http.Header) (uint32, string) {
	values, given := h[VersionHeader]
	switch {
	case !given:
		return 0, ""
	case len(values) > 1:
		return 0, fmt.Sprintf("header %s: given %d times, send it once", VersionHeader, len(values))
	}
	v, err := strconv.ParseUint(values[0], 10, 32)
	if err != nil || v == 0 {
		return 0, fmt.Sprintf("header %s: %q is not a version (1, 2, …)", VersionHeader, values[0])
	}
	return uint32(v), ""
}

// decodeOld reads the body of command name at an old version, upcasts it
// and decodes it, strictly, into the current definition's command. It
// returns the definition and command, or the status, code and message of
// the problem.
func (h *handler) decodeOld(body io.Reader, name string, version uint32) (*commands.Definition, commands.Command, int, string, string) {
	var up envelope.Upcaster
	if u, ok := h.db.(upcasting); ok {
		up = u.Upcaster()
	}
	return decodeOld(h.db.Registry(), up, body, name, version)
}

// decodeOld is handler.decodeOld with the registry and upcaster (nil: none) given.
func decodeOld(reg *commands.Registry, up envelope.Upcaster, body io.Reader, name string, version uint32) (*commands.Definition, commands.Command, int, string, string) {
	var payload map[string]any
	if err := decodeJSON(body, jsontext.KindBeginObject, &payload); err != nil {
		status, code, msg := describe(err, name)
		return nil, nil, status, code, msg
	}
	integers(payload)
	b, err := envelope.EncodePayload(payload)
	if err != nil {
		return nil, nil, http.StatusBadRequest, codeMalformed, err.Error()
	}
	env := envelope.Envelope{Name: name, Version: version, Payload: b}
	if up != nil {
		keep, err := up.Upcast(&env)
		switch {
		case err != nil:
			return nil, nil, http.StatusBadRequest, codeInvalid, fmt.Sprintf("%s v%d: %v", name, version, err)
		case !keep:
			return nil, nil, http.StatusGone, codeRetired, fmt.Sprintf("command %s v%d is retired: %s", name, version, env.Retired)
		}
	}
	def, ok := reg.Lookup(env.Name)
	if !ok || def.Version != env.Version {
		current := ""
		if d, ok := reg.Lookup(name); ok {
			current = fmt.Sprintf(" (current: v%d)", d.Version)
		}
		return nil, nil, http.StatusBadRequest, codeUnknownCommand,
			fmt.Sprintf("command %s v%d cannot be brought to a current command%s: the app declares no upcaster for it; GET /v1/commands lists the current ones", name, version, current)
	}
	js, err := envelope.PayloadJSON(env.Payload)
	if err != nil {
		return nil, nil, http.StatusBadRequest, codeMalformed, err.Error()
	}
	cmd := def.New()
	if status, code, msg := decode(bytes.NewReader(js), def.Name, cmd); status != 0 {
		return nil, nil, status, code, fmt.Sprintf("%s (upcast from %s v%d)", msg, name, version)
	}
	return def, cmd, 0, "", ""
}

// integers turns JSON numbers without a fraction (float64 as decoded) into
// int64, as a logged payload holds integers, so that upcasters see the
// same types from a client as from the log.
func integers(m map[string]any) {
	for k, v := range m {
		m[k] = integer(v)
	}
}

func integer(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x >= -(1<<53) && x <= 1<<53 {
			return int64(x)
		}
	case map[string]any:
		integers(x)
	case []any:
		for i := range x {
			x[i] = integer(x[i])
		}
	}
	return v
}
