package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/secret"
)

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the request id the middleware put in ctx.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// LogHandler wraps a slog.Handler so every record logged with a request's
// context carries its request_id (the library's log lines included).
type LogHandler struct{ slog.Handler }

// Handle adds request_id.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper.
func (h LogHandler) WithAttrs(a []slog.Attr) slog.Handler { return LogHandler{h.Handler.WithAttrs(a)} }

// WithGroup keeps the wrapper.
func (h LogHandler) WithGroup(n string) slog.Handler { return LogHandler{h.Handler.WithGroup(n)} }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// routeKey holds, in a request's context, the route the router matched.
type routeKey struct{}

// matchedRoute is where the router writes the path template of the route
// it matched ("/admin/members/{id}"): the route label of the request's
// log line and metrics, bounded by the routes registered.
type matchedRoute struct{ template string }

// recordRoute is the router's middleware that writes the matched route's
// template for observe.
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m, ok := r.Context().Value(routeKey{}).(*matchedRoute); ok {
			if rt := mux.CurrentRoute(r); rt != nil {
				if t, err := rt.GetPathTemplate(); err == nil {
					m.template = t
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// routeLabel is the request's route: the template of the route the router
// matched, else "other" (a path no route takes, or one refused before
// the router: its label must stay bounded).
func routeLabel(m *matchedRoute) string {
	if m.template == "" {
		return "other"
	}
	return m.template
}

// observe gives each request an id, times it, logs it at info (4xx at
// info, 5xx at error) with method, route, status, duration and request id,
// and counts and times it by route.
func observe(log *slog.Logger, requests *prometheus.CounterVec, durations *prometheus.HistogramVec, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := secret.RandomToken(12)
		w.Header().Set("X-Request-Id", id)
		matched := &matchedRoute{}
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, id), routeKey{}, matched)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		route := routeLabel(matched)
		requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		durations.WithLabelValues(route).Observe(elapsed.Seconds())
		lvl := slog.LevelInfo
		if sw.status >= 500 {
			lvl = slog.LevelError
		}
		if log.Enabled(ctx, lvl) {
			log.Log(ctx, lvl, "request", "method", r.Method, "route", route, "status", sw.status,
				"duration_ms", elapsed.Milliseconds())
		}
	})
}

// securityHeaders sets the headers every page carries; hsts is the
// Strict-Transport-Security value, empty under plain http.
func securityHeaders(csp, hsts string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		// No window of another origin keeps a handle on ours (a sign-in
		// page opened by window.open, or one that opened another).
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if hsts != "" {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}

// strictTransportSecurity is the HSTS value of an https issuer (a year,
// with includeSubDomains when http.hsts_include_subdomains), or "".
func strictTransportSecurity(cfg *config.Config) string {
	if !strings.HasPrefix(cfg.Issuer, "https://") {
		return ""
	}
	v := "max-age=31536000"
	if cfg.HTTP.HSTSIncludeSubdomains {
		v += "; includeSubDomains"
	}
	return v
}

// inputRejecter answers a request whose input is refused at the edge:
// with a readable page, or an OAuth JSON error on the protocol endpoints.
type inputRejecter struct {
	page  func(w http.ResponseWriter, r *http.Request, status int, key string)
	oauth func(w http.ResponseWriter, r *http.Request, status int)
}

// checkInput bounds request bodies and refuses, once and for every route
// before any flow runs, what must never reach a flow or the database: a
// form body over the limit (413), and a NUL byte or invalid UTF-8 in the
// path or in any query or form name or value (400). PostgreSQL refuses
// such text (SQLSTATE 22021) and SQLite would store it.
func checkInput(max int64, rej inputRejecter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		if status, key := badInput(r); status != 0 {
			if protocolPath(r.URL.Path) {
				rej.oauth(w, r, status)
				return
			}
			rej.page(w, r, status, key)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// badInput parses the query and a form body (later parses are no-ops)
// and returns the status and page of a refusal, or 0.
func badInput(r *http.Request) (int, string) {
	if !cleanText(r.URL.Path) {
		return http.StatusBadRequest, "error.invalid_request"
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return http.StatusRequestEntityTooLarge, "error.too_large"
		}
		return http.StatusBadRequest, "error.invalid_request"
	}
	for k, vs := range r.Form {
		if !cleanText(k) {
			return http.StatusBadRequest, "error.invalid_request"
		}
		for _, v := range vs {
			if !cleanText(v) {
				return http.StatusBadRequest, "error.invalid_request"
			}
		}
	}
	return 0, ""
}

// cleanText reports whether s is valid UTF-8 without a NUL byte.
func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// protocolPath reports whether a path is answered in OAuth JSON rather
// than with pages.
func protocolPath(p string) bool {
	switch p {
	case "/oauth/token", "/oauth/introspect", "/revoke", "/userinfo":
		return true
	}
	return strings.HasPrefix(p, "/api/")
}

// ClientIP returns the client address: the peer, or — when the peer is a
// trusted proxy — the right-most X-Forwarded-For entry that is not one.
type ClientIP struct{ trusted []netip.Prefix }

// NewClientIP parses trusted proxies (IPs or CIDRs).
func NewClientIP(proxies []string) (*ClientIP, error) {
	c := &ClientIP{}
	for _, p := range proxies {
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, err
			}
			c.trusted = append(c.trusted, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, err
		}
		c.trusted = append(c.trusted, pf)
	}
	return c, nil
}

func (c *ClientIP) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// Of returns the client IP of r.
func (c *ClientIP) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !c.isTrusted(peer) {
		return host
	}
	parts := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			return host
		}
		if !c.isTrusted(a) {
			return a.Unmap().String()
		}
	}
	return host
}
