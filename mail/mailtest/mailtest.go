// Package mailtest runs an in-process SMTP server for tests, built on
// go-smtp's server: plain, STARTTLS or implicit TLS with a self-signed
// certificate made at start, optional AUTH (PLAIN and LOGIN), refusals on
// demand, and stop/restart on the same port. It listens on 127.0.0.1 only
// and every connection has read and write timeouts.
//
// A typical test:
//
//	srv := mailtest.Start(t, mailtest.Options{Security: mail.SecurityStartTLS, Username: "u", Password: "p"})
//	sender := mail.NewSMTPSender(srv.SenderConfig(), logger)
//	... code under test sends ...
//	got := srv.WaitFor(t, mailtest.To("user@example.com"), 5*time.Second)
//	code := mailtest.Code(got.Text)
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	netmail "net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sekisho/sekisho/mail"
)

// Limits of the test server.
const (
	connTimeout     = 10 * time.Second
	maxMessageBytes = 10 << 20
	maxRecipients   = 100
)

// Options configures a test server.
type Options struct {
	// Security is mail.SecurityNone (the default when empty),
	// mail.SecurityStartTLS or mail.SecurityTLS (implicit TLS).
	Security string
	// Username and Password, when Username is set, are the only accepted
	// credentials, and MAIL is refused with smtp.ErrAuthRequired (502
	// 5.7.0) until the session has authenticated. Wrong credentials get
	// smtp.ErrAuthFailed (535 5.7.8). AUTH is also allowed without TLS,
	// since the server is loopback-only.
	Username, Password string
	// Mechanisms are the SASL mechanisms offered when Username is set, in
	// order; empty means sasl.Plain and sasl.Login. Set []string{sasl.Login}
	// to force a client onto LOGIN.
	Mechanisms []string
}

// Received is one message the server accepted.
type Received struct {
	// From and To are the envelope sender and recipients.
	From string
	To   []string
	// Raw is the message as received (dot-stuffing removed).
	Raw []byte
	// Header, Subject, Text and HTML are parsed from Raw with mail.Parse;
	// Subject is decoded. ParseErr is set when Raw does not parse.
	Header              netmail.Header
	Subject, Text, HTML string
	ParseErr            error
	// TLS reports whether the session was encrypted, and User the
	// authenticated username ("" without AUTH).
	TLS  bool
	User string
}

// Server is a running test server. Its methods are safe for concurrent
// use.
type Server struct {
	t         testing.TB
	opts      Options
	addr      string
	pool      *x509.CertPool
	tlsConfig *tls.Config

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	served   chan struct{} // closed when the current Serve returns
	messages []Received
	rejects  []*smtp.SMTPError
	changed  chan struct{} // closed and replaced on every new message
}

// Start starts a server on 127.0.0.1 with a free port and stops it in
// t.Cleanup. It fails the test on any setup error.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	switch opts.Security {
	case "":
		opts.Security = mail.SecurityNone
	case mail.SecurityNone, mail.SecurityStartTLS, mail.SecurityTLS:
	default:
		t.Fatalf("mailtest: unknown security %q", opts.Security)
	}
	if len(opts.Mechanisms) == 0 {
		opts.Mechanisms = []string{sasl.Plain, sasl.Login}
	}
	cert, pool, err := selfSigned()
	if err != nil {
		t.Fatalf("mailtest: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{
		t:         t,
		opts:      opts,
		addr:      l.Addr().String(),
		pool:      pool,
		tlsConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		changed:   make(chan struct{}),
	}
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

// serve runs an SMTP server on l until Stop.
func (s *Server) serve(l net.Listener) {
	if s.opts.Security == mail.SecurityTLS {
		l = tls.NewListener(l, s.tlsConfig)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ReadTimeout = connTimeout
	srv.WriteTimeout = connTimeout
	srv.MaxMessageBytes = maxMessageBytes
	srv.MaxRecipients = maxRecipients
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if s.opts.Security == mail.SecurityStartTLS {
		srv.TLSConfig = s.tlsConfig
	}
	served := make(chan struct{})
	s.mu.Lock()
	s.srv, s.ln, s.served = srv, l, served
	s.mu.Unlock()
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
}

// Addr returns the listening address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Host returns "127.0.0.1".
func (s *Server) Host() string {
	host, _, _ := net.SplitHostPort(s.addr)
	return host
}

// Port returns the listening port; it stays the same across Restart.
func (s *Server) Port() int {
	_, port, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(port)
	return n
}

// CertPool returns a pool that trusts the server's certificate (valid for
// 127.0.0.1, ::1 and localhost).
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// SenderConfig returns an SMTP configuration that reaches this server: its
// host, port, security and credentials, a TLS configuration trusting
// CertPool, From "noreply@sekisho.test" and a 5 second timeout.
func (s *Server) SenderConfig() mail.SMTPConfig {
	return mail.SMTPConfig{
		Host:      s.Host(),
		Port:      s.Port(),
		Security:  s.opts.Security,
		Username:  s.opts.Username,
		Password:  s.opts.Password,
		From:      "noreply@sekisho.test",
		Timeout:   5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12},
		HelloName: "sekisho.test",
	}
}

// Messages returns the accepted messages, oldest first. The result is a
// copy.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// WaitFor returns the first accepted message for which match reports true
// (nil matches any), waiting up to timeout for it to arrive; it fails the
// test when none does.
func (s *Server) WaitFor(t testing.TB, match func(Received) bool, timeout time.Duration) Received {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		for _, m := range s.messages {
			if match == nil || match(m) {
				s.mu.Unlock()
				return m
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("mailtest: no matching message within %s (%d received)", timeout, len(s.Messages()))
			return Received{}
		}
	}
}

// To returns a WaitFor matcher for messages with addr among the envelope
// recipients.
func To(addr string) func(Received) bool {
	return func(m Received) bool { return slices.Contains(m.To, addr) }
}

// RejectNext makes the server refuse the next RCPT command with code (4xx
// for a temporary, 5xx for a permanent failure) and msg. Calls queue up:
// each refusal is used once.
func (s *Server) RejectNext(code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejects = append(s.rejects, &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: msg})
}

// Stop closes the listener and every open connection and waits for the
// accept loop to end. The received messages are kept. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln, served := s.srv, s.ln, s.served
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	// smtp.Server.Close only closes listeners that Serve has registered,
	// which it may not have done yet; close ours too.
	_ = srv.Close()
	_ = ln.Close()
	<-served
}

// Restart stops the server if it runs and listens again on the same port,
// so a sender configured earlier reaches it. It fails the test when the
// port cannot be bound.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("mailtest: restart: listen: %v", err)
	}
	s.serve(l)
}

// take returns and removes the next queued refusal, or nil.
func (s *Server) take() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rejects) == 0 {
		return nil
	}
	e := s.rejects[0]
	s.rejects = s.rejects[1:]
	return e
}

// store records an accepted message.
func (s *Server) store(m Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// newSession is the go-smtp backend: one session per EHLO.
func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{srv: s, conn: c}, nil
}

// session is the state of one SMTP session. go-smtp calls its methods from
// the connection's goroutine only.
type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

// AuthMechanisms returns the configured mechanisms, or none without a
// username.
func (ss *session) AuthMechanisms() []string {
	if ss.srv.opts.Username == "" {
		return nil
	}
	return ss.srv.opts.Mechanisms
}

// Auth returns the SASL server of mech.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(ss.AuthMechanisms(), mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	check := func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		if username != ss.srv.opts.Username || password != ss.srv.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(check), nil
	case sasl.Login:
		return &loginServer{check: func(u, p string) error { return check("", u, p) }}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// Mail starts a transaction, refusing it before authentication when
// credentials are configured.
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

// Rcpt adds a recipient unless a refusal is queued.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.srv.take(); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data reads and stores the message.
func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := Received{From: ss.from, To: slices.Clone(ss.to), Raw: raw, TLS: isTLS, User: ss.user}
	if p, err := mail.Parse(raw); err != nil {
		m.ParseErr = err
	} else {
		m.Header, m.Subject, m.Text, m.HTML = p.Header, p.Subject, p.Text, p.HTML
	}
	ss.srv.store(m)
	return nil
}

// Reset ends the transaction.
func (ss *session) Reset() {
	ss.from, ss.to = "", nil
}

// Logout frees nothing.
func (ss *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism, which go-sasl no
// longer provides: it asks "Username:" (unless the client sent the name
// as its initial response, as go-sasl's client does), then "Password:".
type loginServer struct {
	check    func(username, password string) error
	step     int
	username string
}

// Next implements sasl.Server.
func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		if response == nil {
			l.step = 1
			return []byte("Username:"), false, nil
		}
		l.username, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 1:
		l.username, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.username, string(response))
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}

// selfSigned makes an ECDSA certificate for 127.0.0.1, ::1 and localhost,
// valid for a day, and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mailtest"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("parse certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// codePattern matches a six-digit number not inside a longer number.
var codePattern = regexp.MustCompile(`(?:^|[^0-9])([0-9]{6})(?:[^0-9]|$)`)

// Code returns the first six-digit code in text (a sign-in or reset code),
// or "" when there is none.
func Code(text string) string {
	m := codePattern.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1]
}

// urlPattern matches an http or https URL up to white space or a quote or
// angle bracket.
var urlPattern = regexp.MustCompile(`https?://[^\s<>"'` + "`" + `]+`)

// Link returns the first URL in text that starts with prefix (such as
// "https://id.example.com/verify?"), or "" when there is none.
func Link(text, prefix string) string {
	for _, u := range urlPattern.FindAllString(text, -1) {
		if strings.HasPrefix(u, prefix) {
			return u
		}
	}
	return ""
}
