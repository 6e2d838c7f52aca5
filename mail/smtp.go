package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Sender delivers composed messages (the bytes of Message.Bytes). from is
// the envelope sender (MAIL FROM) and to the envelope recipients (RCPT TO).
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

var (
	_ Sender = (*SMTPSender)(nil)
	_ Sender = (*DevSender)(nil)
)

// Values of SMTPConfig.Security.
const (
	// SecurityNone sends in plain text. Credentials are then only sent to a
	// loopback address.
	SecurityNone = "none"
	// SecurityStartTLS connects in plain text and upgrades with STARTTLS,
	// failing when the server does not offer it (usually port 587).
	SecurityStartTLS = "starttls"
	// SecurityTLS speaks TLS from the first byte (implicit TLS, usually
	// port 465).
	SecurityTLS = "tls"
)

// Defaults applied by NewSMTPSender.
const (
	// DefaultSecurity is used when SMTPConfig.Security is empty.
	DefaultSecurity = SecurityStartTLS
	// DefaultTimeout bounds connecting and each SMTP command when
	// SMTPConfig.Timeout is zero.
	DefaultTimeout = 30 * time.Second
	// DefaultHelloName is the EHLO name when SMTPConfig.HelloName is empty.
	DefaultHelloName = "localhost"
	// Default ports per security mode, used when SMTPConfig.Port is zero.
	DefaultPortNone     = 25
	DefaultPortStartTLS = 587
	DefaultPortTLS      = 465
)

// SMTPConfig configures an SMTPSender.
type SMTPConfig struct {
	// Host is the SMTP server's host name or IP address; it is also the
	// name checked against the server's certificate. Required.
	Host string
	// Port is the TCP port; zero means 25, 587 or 465 by Security.
	Port int
	// Security is SecurityNone, SecurityStartTLS or SecurityTLS; empty
	// means SecurityStartTLS.
	Security string
	// Username and Password are the SASL credentials; an empty Username
	// means no authentication. PLAIN is used when the server offers it,
	// otherwise LOGIN.
	Username, Password string
	// From is the default envelope sender, used when Send gets an empty
	// from. Callers composing a Message usually use it as Message.From too.
	From string
	// Timeout bounds the TCP connect and TLS handshake, and each SMTP
	// command and the wait for the reply after the message data. Zero
	// means DefaultTimeout. The context of Send bounds the whole delivery.
	Timeout time.Duration
	// TLSConfig is an optional base TLS configuration, for example with
	// RootCAs trusting a test certificate. It is cloned; ServerName
	// defaults to Host and MinVersion to TLS 1.2.
	TLSConfig *tls.Config
	// HelloName is the name sent with EHLO; empty means DefaultHelloName.
	// With STARTTLS, the EHLO before the upgrade always says "localhost"
	// (a limitation of go-smtp); HelloName is sent after it.
	HelloName string
}

// LogValue hides the password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host),
		slog.Int("port", c.Port),
		slog.String("security", c.Security),
		slog.String("username", c.Username),
		slog.Bool("password_set", c.Password != ""),
		slog.String("from", c.From),
		slog.Duration("timeout", c.Timeout),
		slog.String("hello_name", c.HelloName),
	)
}

// withDefaults returns c with empty fields set to their defaults.
func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.Security == "" {
		c.Security = DefaultSecurity
	}
	if c.Port == 0 {
		switch c.Security {
		case SecurityNone:
			c.Port = DefaultPortNone
		case SecurityTLS:
			c.Port = DefaultPortTLS
		default:
			c.Port = DefaultPortStartTLS
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.HelloName == "" {
		c.HelloName = DefaultHelloName
	}
	return c
}

// Validate reports every problem of c (after defaults) at once, joined, each
// wrapping ErrInvalidConfig.
func (c SMTPConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.Host == "" {
		add("host is required")
	} else if strings.ContainsAny(c.Host, " \t\r\n/:") && net.ParseIP(c.Host) == nil {
		add("host %q is not a host name or IP address", c.Host)
	}
	if c.Port < 1 || c.Port > 65535 {
		add("port %d is out of range", c.Port)
	}
	switch c.Security {
	case SecurityNone, SecurityStartTLS, SecurityTLS:
	default:
		add("security %q is not one of none, starttls, tls", c.Security)
	}
	if c.Username != "" && c.Password == "" {
		add("password is required with a username")
	}
	if c.Username != "" && c.Security == SecurityNone && !isLoopbackHost(c.Host) {
		add("security none with a username is only allowed for a loopback host")
	}
	if strings.ContainsAny(c.Username+c.Password, "\r\n\x00") {
		add("username and password must not contain CR, LF or NUL")
	}
	if c.From != "" {
		if err := checkEmail(c.From); err != nil {
			add("from: %v", err)
		}
	}
	if c.Timeout < 0 {
		add("timeout %s is negative", c.Timeout)
	}
	if strings.ContainsAny(c.HelloName, " \t\r\n") {
		add("hello name %q contains white space", c.HelloName)
	}
	return errors.Join(errs...)
}

// isLoopbackHost reports "localhost" and loopback IP literals.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SMTPSender delivers messages through one SMTP server, opening a new
// connection for each Send. It is safe for concurrent use.
type SMTPSender struct {
	cfg    SMTPConfig
	cfgErr error
	logger *slog.Logger
}

// NewSMTPSender returns a sender for cfg with defaults applied. An invalid
// cfg (see Validate) is not reported here: every Send then fails with a
// KindConfig error; call cfg.Validate at start-up to fail early. A nil
// logger discards log lines.
func NewSMTPSender(cfg SMTPConfig, logger *slog.Logger) *SMTPSender {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &SMTPSender{cfg: cfg.withDefaults(), cfgErr: cfg.Validate(), logger: logger}
}

// Send delivers msg, a complete RFC 5322 message, from the envelope sender
// from (cfg.From when empty) to the envelope recipients to.
//
// It dials the server honouring ctx and cfg.Timeout, upgrades to TLS as
// configured, authenticates when a username is set (never over a
// connection without TLS unless the server's address is loopback), and
// sends MAIL, RCPT, DATA and QUIT. When ctx is done the connection is closed
// and Send returns promptly. A failed QUIT after the server accepted the
// data is not an error.
//
// Errors are *SendError values; see Kind and IsPermanent. Each failure is
// logged once, with the SMTP reply code and text, the recipients' domains
// only, and never the message.
func (s *SMTPSender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	start := time.Now()
	if from == "" {
		from = s.cfg.From
	}
	domains := recipientDomains(to)
	if err := s.send(ctx, from, to, msg); err != nil {
		if err.Op == opCheck {
			s.logger.InfoContext(ctx, "mail: not handed over", "smtp_host", s.cfg.Host,
				"recipient_domains", domains, "reason", err.Err.Error())
			return err
		}
		s.logFailure(ctx, err, domains)
		return err
	}
	s.logger.InfoContext(ctx, "mail: sent",
		"smtp_host", s.cfg.Host,
		"recipient_domains", domains,
		"bytes", len(msg),
		"duration", time.Since(start))
	return nil
}

// send does the work of Send and returns a *SendError.
func (s *SMTPSender) send(ctx context.Context, from string, to []string, msg []byte) *SendError {
	if s.cfgErr != nil {
		return &SendError{Kind: KindConfig, Op: opConfig, Err: s.cfgErr}
	}
	if from == "" {
		return &SendError{Kind: KindConfig, Op: opConfig, Err: fmt.Errorf("%w: no envelope sender and from is not configured", ErrInvalidConfig)}
	}
	if err := checkEnvelope(from, to, msg); err != nil {
		return &SendError{Kind: KindPermanent, Op: opEnvelope, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return &SendError{Kind: KindTemporary, Op: opDial, Err: err}
	}

	conn, err := s.dial(ctx)
	if err != nil {
		return classify(ctx, opDial, err)
	}
	// Closing the connection is the only way to interrupt a blocked read;
	// go-smtp resets the connection deadline on every command.
	stopWatch := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stopWatch()

	c, op, err := s.newClient(ctx, conn)
	if err != nil {
		_ = conn.Close()
		return classify(ctx, op, err)
	}
	defer func() { _ = c.Close() }()
	c.CommandTimeout = s.cfg.Timeout
	c.SubmissionTimeout = s.cfg.Timeout

	if err := c.Hello(s.cfg.HelloName); err != nil {
		op := opHello
		if s.cfg.Security == SecurityStartTLS && isConfigError(err) {
			// The TLS handshake after STARTTLS runs on the first write,
			// which is this EHLO.
			op = opStartTLS
		}
		return classify(ctx, op, err)
	}
	if s.cfg.Username != "" {
		if err := s.auth(c, conn); err != nil {
			return classify(ctx, opAuth, err)
		}
	}

	if err := sendCheck(ctx); err != nil {
		_ = c.Quit()
		return &SendError{Kind: KindPermanent, Op: opCheck, Err: err}
	}
	if err := c.Mail(from, nil); err != nil {
		return classify(ctx, opMail, err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return classify(ctx, opRcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify(ctx, opData, err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify(ctx, opData, err)
	}
	if err := w.Close(); err != nil {
		return classify(ctx, opData, err)
	}
	// The server has accepted the message: a failing QUIT changes nothing.
	if err := c.Quit(); err != nil {
		s.logger.DebugContext(ctx, "mail: smtp quit failed after delivery", "smtp_host", s.cfg.Host, "err", err)
	}
	return nil
}

// dial opens the TCP (or, for SecurityTLS, TLS) connection.
func (s *SMTPSender) dial(ctx context.Context) (net.Conn, error) {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	d := &net.Dialer{Timeout: s.cfg.Timeout}
	if s.cfg.Security == SecurityTLS {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig()}
		return td.DialContext(ctx, "tcp", addr)
	}
	return d.DialContext(ctx, "tcp", addr)
}

// newClient wraps conn in an SMTP client, running STARTTLS when
// configured. It returns the step to blame on failure.
func (s *SMTPSender) newClient(ctx context.Context, conn net.Conn) (*smtp.Client, string, error) {
	if s.cfg.Security != SecurityStartTLS {
		return smtp.NewClient(conn), opHello, nil
	}
	// NewClientStartTLS reads the greeting and sends EHLO and STARTTLS with
	// go-smtp's default five-minute timeouts, before we can set ours, so
	// bound this step by closing the connection after cfg.Timeout.
	stepCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	stop := context.AfterFunc(stepCtx, func() { _ = conn.Close() })
	c, err := smtp.NewClientStartTLS(conn, s.tlsConfig())
	stop()
	if err != nil {
		if stepCtx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no STARTTLS after %s: %w: %w", s.cfg.Timeout, os.ErrDeadlineExceeded, err)
		} else if strings.Contains(err.Error(), "doesn't support STARTTLS") {
			// go-smtp returns an unexported errors.New value here.
			err = fmt.Errorf("%w: %w", ErrStartTLSUnsupported, err)
		}
		return nil, opStartTLS, err
	}
	return c, opStartTLS, nil
}

// tlsConfig returns the TLS configuration for the server.
func (s *SMTPSender) tlsConfig() *tls.Config {
	var cfg *tls.Config
	if s.cfg.TLSConfig != nil {
		cfg = s.cfg.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.cfg.Host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// auth authenticates with PLAIN, or LOGIN when the server offers only
// that, after checking that the credentials may be sent.
func (s *SMTPSender) auth(c *smtp.Client, conn net.Conn) error {
	_, isTLS := c.TLSConnectionState()
	if err := credentialsAllowed(isTLS, conn.RemoteAddr()); err != nil {
		return err
	}
	var client sasl.Client
	switch {
	case c.SupportsAuth(sasl.Plain):
		client = sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)
	case c.SupportsAuth(sasl.Login):
		client = sasl.NewLoginClient(s.cfg.Username, s.cfg.Password)
	default:
		return ErrNoAuthMechanism
	}
	return c.Auth(client)
}

// credentialsAllowed refuses to send credentials without TLS unless the
// peer is a loopback address (a local relay or a test server). The check
// uses the connected address, not the configured name.
func credentialsAllowed(isTLS bool, remote net.Addr) error {
	if isTLS {
		return nil
	}
	if tcp, ok := remote.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return nil
	}
	return ErrInsecureAuth
}

// checkEnvelope validates the envelope before connecting.
func checkEnvelope(from string, to []string, msg []byte) error {
	if err := checkEmail(from); err != nil {
		return fmt.Errorf("%w: envelope sender: %w", ErrInvalidAddress, err)
	}
	if len(to) == 0 {
		return fmt.Errorf("%w: no recipients", ErrInvalidAddress)
	}
	for i, rcpt := range to {
		if err := checkEmail(rcpt); err != nil {
			return fmt.Errorf("%w: recipient %d: %w", ErrInvalidAddress, i, err)
		}
	}
	if len(msg) == 0 {
		return fmt.Errorf("%w: message is empty", ErrInvalidBody)
	}
	return nil
}

// logFailure writes the one log line of a failed Send.
func (s *SMTPSender) logFailure(ctx context.Context, err *SendError, domains []string) {
	level := slog.LevelWarn
	if err.Kind == KindConfig {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("smtp_host", s.cfg.Host),
		slog.String("op", err.Op),
		slog.String("kind", err.Kind.String()),
		slog.Any("recipient_domains", domains),
	}
	msg := "mail: smtp delivery failed"
	if err.Code != 0 {
		msg = "mail: smtp server refused"
		attrs = append(attrs,
			slog.Int("code", err.Code),
			slog.String("enhanced_code", formatEnhancedCode(err.EnhancedCode)),
			slog.String("server_message", err.Message))
	} else {
		attrs = append(attrs, slog.String("err", redactAddresses(err.Error())))
	}
	s.logger.LogAttrs(ctx, level, msg, attrs...)
}

// recipientDomains returns the sorted, distinct lower-case domains of to,
// for logs that must not name the recipient.
func recipientDomains(to []string) []string {
	domains := make([]string, 0, len(to))
	for _, addr := range to {
		d := "invalid"
		if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
			d = strings.ToLower(addr[i+1:])
		}
		domains = append(domains, d)
	}
	slices.Sort(domains)
	return slices.Compact(domains)
}
