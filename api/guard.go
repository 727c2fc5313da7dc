package api

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Error codes of guard.
const (
	codeMisdirected = "misdirected_request"
	codeCrossOrigin = "cross_origin"
)

// guard checks what every request must pass before its endpoint sees it,
// so that a web page the local user visits cannot use the API through the
// user's browser:
//
//   - Without tokens, the Host must be localhost, a loopback address, the
//     address the request came in on, or one of Config.AllowedHosts. A page
//     that rebinds its own name to 127.0.0.1 (DNS rebinding) is
//     same-origin with its requests, so only the Host it sends betrays it.
//     With tokens the page would need a token, which it does not have.
//   - A request with an Origin other than the server's own (compared by
//     host, as net/http.CrossOriginProtection does) or one of
//     Config.AllowedOrigins is refused, and so is one a browser marks as
//     cross-site (Sec-Fetch-Site) without an Origin. Non-browser clients
//     send neither header.
//
// That a POST body is JSON is checked where bodies are read, after
// authentication (see handler.body).
// An allowed origin gets CORS headers, and its preflight requests answered.
func (h *handler) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.tokens == nil && !h.hostAllowed(r) {
			writeError(w, http.StatusMisdirectedRequest, codeMisdirected, fmt.Sprintf(
				"Host %q is not this server: without tokens the API answers only requests addressed to localhost, a loopback address or its own address, as a web page could otherwise reach it by DNS rebinding", r.Host))
			return
		}
		origin := r.Header.Get("Origin")
		switch site := r.Header.Get("Sec-Fetch-Site"); {
		case origin != "" && h.origins[origin]:
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "Idempotent-Replayed")
			w.Header().Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				preflight(w)
				return
			}
		case origin != "" && !sameHost(origin, r.Host):
			writeError(w, http.StatusForbidden, codeCrossOrigin, fmt.Sprintf(
				"a page of %s may not use this API (its origin is not the server's, nor one of the allowed origins)", origin))
			return
		case origin == "" && (site == "cross-site" || site == "same-site"):
			writeError(w, http.StatusForbidden, codeCrossOrigin, "a "+site+" browser request may not use this API")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed tells whether the request's Host names this server (see
// guard).
func (h *handler) hostAllowed(r *http.Request) bool {
	host := r.Host
	if name, _, err := net.SplitHostPort(host); err == nil {
		host = name
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "localhost" || h.hosts[host] {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	return ok && local.IP.Equal(ip)
}

// sameHost tells whether origin (scheme://host[:port]) is of the host
// (host[:port]) the request was addressed to.
func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// preflight answers a CORS preflight request of an allowed origin.
func preflight(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Methods", "GET, POST")
	hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
	hd.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// checkOrigin validates an entry of Config.AllowedOrigins: a browser's
// origin is scheme://host[:port], nothing more.
func checkOrigin(origin string) error {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("allowed origin %q: want scheme://host[:port], e.g. https://admin.example.com", origin)
	}
	return nil
}
