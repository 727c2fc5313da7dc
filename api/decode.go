package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// strictJSON are the options of every body the API decodes: a command's
// JSON must mean one thing, so what encoding/json lets pass is an error
// here. Most are go-json-experiment's defaults already; they are spelled
// out because they are what the API promises.
var strictJSON = json.JoinOptions(
	jsontext.AllowDuplicateNames(false),   // {"quantity":1,"quantity":5} is not "the last one wins"
	jsontext.AllowInvalidUTF8(false),      // invalid UTF-8 is an error, not silently U+FFFD
	json.MatchCaseInsensitiveNames(false), // "QUANTITY" is not "quantity"
	json.RejectUnknownMembers(true),       // a misspelt field is not silently ignored
)

// Errors of decodeJSON besides the decoder's own.
var (
	errEmpty    = errors.New("empty body")
	errTrailing = errors.New("data after the JSON value")
)

// kindError is a body whose JSON value is not of the kind wanted.
type kindError struct{ want, got jsontext.Kind }

func (e *kindError) Error() string {
	return fmt.Sprintf("the body must be a JSON %s, not a JSON %s", kindName(e.want), kindName(e.got))
}

// decodeJSON reads exactly one JSON value of kind want (an object or an
// array) from
// body into v, with strictJSON. Its errors are the decoder's
// (*json.SemanticError, *jsontext.SyntacticError, read errors such as
// *http.MaxBytesError), errEmpty, errTrailing or a *kindError.
func decodeJSON(body io.Reader, want jsontext.Kind, v any) error {
	dec := decoders.Get().(*jsontext.Decoder)
	dec.Reset(body, strictJSON)
	defer func() {
		dec.Reset(emptyReader{}, strictJSON) // hold no body
		decoders.Put(dec)
	}()
	switch got := dec.PeekKind(); got {
	case want:
	case jsontext.KindInvalid: // nothing, or not JSON: the next read says which
		if _, err := dec.ReadToken(); err != io.EOF {
			return err
		}
		return errEmpty
	default:
		return &kindError{want: want, got: got}
	}
	if err := json.UnmarshalDecode(dec, v, strictJSON); err != nil {
		return err
	}
	if dec.PeekKind() != jsontext.KindInvalid {
		return errTrailing
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		var tooLarge *http.MaxBytesError
		var slow *slowBodyError
		if errors.As(err, &tooLarge) || errors.As(err, &slow) {
			return err // the body's fault, not its JSON's
		}
		return errTrailing
	}
	return nil
}

// decoders are reused: making a jsontext.Decoder and its buffers was 13%
// of the decoding of an HTTP set's body (profile of bench/peers).
var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(emptyReader{}, strictJSON) }}

// emptyReader is the body of a decoder in the pool.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }

// decode reads body into cmd strictly: one JSON object, known fields only,
// each once, of its declared type, in valid UTF-8. It returns a status of
// 0 on success, or the status, code and message of the problem.
func decode(body io.Reader, name string, cmd any) (int, string, string) {
	err := decodeJSON(body, jsontext.KindBeginObject, cmd)
	if err == nil {
		return 0, "", ""
	}
	if errors.Is(err, errEmpty) {
		return http.StatusBadRequest, codeMalformed, fmt.Sprintf("empty body: send the %s command as a JSON object", name)
	}
	if errors.Is(err, errTrailing) {
		return http.StatusBadRequest, codeMalformed, "malformed JSON: data after the command object"
	}
	return describe(err, name)
}

// describe is the status, code and message of a decodeJSON error; name is
// the command decoded, or empty for a batch (whose paths say where).
func describe(err error, name string) (int, string, string) {
	forCmd, ofCmd := "", ""
	if name != "" {
		forCmd, ofCmd = " for command "+name, " of "+name
	}
	var tooLarge *http.MaxBytesError
	var slow *slowBodyError
	var kind *kindError
	var syntax *jsontext.SyntacticError
	var semantic *json.SemanticError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("the body is larger than the limit of %d bytes", tooLarge.Limit)
	case errors.As(err, &slow):
		return http.StatusRequestTimeout, codeTimeout, slow.Error()
	case errors.As(err, &kind):
		return http.StatusBadRequest, codeMalformed, kind.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest, codeMalformed, "malformed JSON: the body ends in the middle of a value"
	case errors.As(err, &syntax) && errors.Is(syntax.Err, jsontext.ErrDuplicateName):
		return http.StatusBadRequest, codeMalformed, fmt.Sprintf("duplicate field %q%s: a field may appear once", fieldPath(syntax.JSONPointer), forCmd)
	case errors.As(err, &syntax) && syntax.JSONPointer != "":
		return http.StatusBadRequest, codeMalformed, fmt.Sprintf("malformed JSON at byte %d, in field %q: %v", syntax.ByteOffset, fieldPath(syntax.JSONPointer), syntax.Err)
	case errors.As(err, &syntax):
		return http.StatusBadRequest, codeMalformed, fmt.Sprintf("malformed JSON at byte %d: %v", syntax.ByteOffset, syntax.Err)
	case errors.As(err, &semantic) && errors.Is(semantic.Err, json.ErrUnknownName):
		return http.StatusBadRequest, codeMalformed, fmt.Sprintf("unknown field %q%s (names are case-sensitive); GET /v1/commands shows its schema", fieldPath(semantic.JSONPointer), forCmd)
	case errors.As(err, &semantic) && semantic.GoType != nil && errors.Is(semantic.Err, strconv.ErrRange):
		return http.StatusBadRequest, codeMalformed, fmt.Sprintf("field %q%s: %s is out of the range of %s", fieldPath(semantic.JSONPointer), ofCmd, semantic.JSONValue, jsonTypeName(semantic.GoType))
	case errors.As(err, &semantic) && semantic.GoType != nil && semantic.JSONKind != jsontext.KindInvalid:
		return http.StatusBadRequest, codeMalformed, fmt.Sprintf("field %q%s must be %s, not a JSON %s", fieldPath(semantic.JSONPointer), ofCmd, jsonTypeName(semantic.GoType), kindName(semantic.JSONKind))
	}
	return http.StatusBadRequest, codeMalformed, "malformed body: " + err.Error()
}

// fieldPath spells a JSON pointer as the commands' own messages name fields:
// /lines/0/quantity is lines[0].quantity.
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.ParseUint(tok, 10, 64); err == nil {
			fmt.Fprintf(&b, "[%s]", tok)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func kindName(k jsontext.Kind) string {
	switch k {
	case jsontext.KindNull:
		return "null"
	case jsontext.KindTrue, jsontext.KindFalse:
		return "boolean"
	case jsontext.KindString:
		return "string"
	case jsontext.KindNumber:
		return "number"
	case jsontext.KindBeginObject:
		return "object"
	case jsontext.KindBeginArray:
		return "array"
	}
	return "value"
}

func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer (" + t.Kind().String() + ")"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
