package api

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"unicode"

	"github.com/imagodb/imago/commands"
)

// MinTokenLength is the shortest bearer token accepted in a tokens file: a
// token is a password, and a short one can be guessed.
const MinTokenLength = 16

// Tokens are the bearer tokens of --http-tokens and what each allows. With
// tokens, every /v1 request needs one: the actor it names goes into the
// envelope of each command submitted with it.
type Tokens struct {
	grants map[[32]byte]Grant // by SHA-256 of the token: lookups do not time the token itself
}

// Grant is what one token allows.
type Grant struct {
	Actor string
	// Commands the token may submit; nil: all of them.
	Commands map[string]bool
	// Scopes are what else the token may do; nil: nothing else.
	Scopes map[Scope]bool
}

// Scope is a right of a token apart from the commands it may submit: the
// log holds every command ever accepted, personal data included, so
// submitting restock does not imply reading it.
type Scope string

// The scopes of a tokens file's scopes= field.
const (
	// ScopeLog reads the history: GET /v1/log and GET /v1/log/stats; a
	// replica that follows it also acknowledges what it applied (POST
	// /v1/replicas/{name}/ack).
	ScopeLog Scope = "log"
	// ScopeCheckpoints reads checkpoints, which hold the whole image:
	// GET /v1/checkpoints and GET /v1/checkpoints/{seq}.
	ScopeCheckpoints Scope = "checkpoints"
	// ScopeAdmin uses the endpoints under /v1/admin/.
	ScopeAdmin Scope = "admin"
)

// allScopes is what a token without a command list was always allowed,
// and what everyone is without tokens.
var allScopes = map[Scope]bool{ScopeLog: true, ScopeCheckpoints: true, ScopeAdmin: true}

// allows tells whether the grant may submit the command name.
func (g Grant) allows(name string) bool { return g.Commands == nil || g.Commands[name] }

// Has tells whether the grant has the scope s.
func (g Grant) Has(s Scope) bool { return g.Scopes[s] }

// LoadTokens reads a tokens file: one token per line as
//
//	<token> <actor> [<commands> [scopes=<scope>,<scope>,...]]
//
// where <commands> is command,command,... or * (all commands) or - (none),
// and the scopes are log, checkpoints and admin (see Scope); `#` starts a
// comment. A line of only a token and an actor allows everything: every
// command and every scope, as it always did. A line with commands has only
// the scopes it names: a token for restock,pay_order does not read the log.
// Every command named must exist in registry.
func LoadTokens(path string, registry *commands.Registry) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer f.Close()
	return ParseTokens(f, path, registry)
}

// ParseTokens reads the tokens file format of LoadTokens from r; name is
// the file's name for errors.
func ParseTokens(r io.Reader, name string, registry *commands.Registry) (*Tokens, error) {
	t := &Tokens{grants: map[[32]byte]Grant{}}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		g, err := parseGrant(fields, registry)
		if err != nil {
			return nil, fmt.Errorf("tokens file %s, line %d: %w", name, line, err)
		}
		key := sha256.Sum256([]byte(fields[0]))
		if _, dup := t.grants[key]; dup {
			return nil, fmt.Errorf("tokens file %s, line %d: the token is already given on an earlier line", name, line)
		}
		t.grants[key] = g
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", name, err)
	}
	if len(t.grants) == 0 {
		return nil, fmt.Errorf("tokens file %s holds no token: without tokens, leave --http-tokens out (loopback only)", name)
	}
	return t, nil
}

// tokenLine is the format of a tokens file's line, for errors.
const tokenLine = "`<token> <actor> [command,command,...|*|- [scopes=log,checkpoints,admin]]`"

func parseGrant(fields []string, registry *commands.Registry) (Grant, error) {
	if len(fields) < 2 || len(fields) > 4 {
		return Grant{}, fmt.Errorf("want %s, got %d fields", tokenLine, len(fields))
	}
	if len(fields[0]) < MinTokenLength {
		return Grant{}, fmt.Errorf("the token is %d characters; use at least %d (e.g. openssl rand -hex 16)", len(fields[0]), MinTokenLength)
	}
	actor := fields[1]
	if len(actor) > 64 || strings.IndexFunc(actor, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return Grant{}, fmt.Errorf("actor %q: want at most 64 printable characters", actor)
	}
	if len(fields) == 2 {
		return Grant{Actor: actor, Scopes: allScopes}, nil
	}
	g := Grant{Actor: actor, Scopes: map[Scope]bool{}}
	switch list := fields[2]; {
	case strings.HasPrefix(list, "scopes="):
		return Grant{}, fmt.Errorf("actor %s: give the commands before scopes= (* for all, - for none): want %s", actor, tokenLine)
	case list == "*":
	case list == "-":
		g.Commands = map[string]bool{}
	default:
		g.Commands = map[string]bool{}
		for _, c := range strings.Split(list, ",") {
			if _, ok := registry.Lookup(c); !ok {
				return Grant{}, fmt.Errorf("actor %s: no command named %q", actor, c)
			}
			g.Commands[c] = true
		}
	}
	if len(fields) == 4 {
		scopes, ok := strings.CutPrefix(fields[3], "scopes=")
		if !ok {
			return Grant{}, fmt.Errorf("actor %s: %q: want scopes=log,checkpoints,admin after the commands", actor, fields[3])
		}
		for _, sc := range strings.Split(scopes, ",") {
			if !allScopes[Scope(sc)] {
				return Grant{}, fmt.Errorf("actor %s: no scope named %q: the scopes are log, checkpoints and admin", actor, sc)
			}
			g.Scopes[Scope(sc)] = true
		}
	}
	return g, nil
}

// Error codes of authentication.
const (
	codeUnauthenticated = "unauthenticated"
	codeForbidden       = "forbidden"
)

// authenticate finds the grant of the request's bearer token, or answers
// 401 and returns false. Without tokens every request is the anonymous
// actor's, allowed everything (serve permits that on loopback only).
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (Grant, bool) {
	if h.tokens == nil {
		return Grant{Actor: "anonymous", Scopes: allScopes}, true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="imago"`)
		writeError(w, http.StatusUnauthorized, codeUnauthenticated, "no bearer token: send the header Authorization: Bearer <token>")
		return Grant{}, false
	}
	g, ok := h.tokens.grants[sha256.Sum256([]byte(token))]
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="imago", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, codeUnauthenticated, "the bearer token is not one of --http-tokens")
		return Grant{}, false
	}
	return g, true
}

// authorized wraps an endpoint that any valid token may use.
func (h *handler) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := h.authenticate(w, r); ok {
			next(w, r)
		}
	}
}

// requires wraps an endpoint that needs a token with the scope s.
func (h *handler) requires(s Scope, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g, ok := h.authenticate(w, r)
		if !ok {
			return
		}
		if !g.Has(s) {
			writeError(w, http.StatusForbidden, codeForbidden, fmt.Sprintf(
				"actor %s may not use %s: it needs the scope %s (a token without a command list, or scopes=%s in the tokens file)", g.Actor, r.URL.Path, s, s))
			return
		}
		next(w, r)
	}
}

// forbidden is the message of a 403 for a command the grant does not allow.
func forbidden(g Grant, command string) string {
	return fmt.Sprintf("actor %s may not submit %s", g.Actor, command)
}
