package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/emersion/go-smtp"
)

// Kind says what a failed delivery means for a retry.
type Kind int

const (
	// KindTemporary: the same message may be delivered later. Network
	// errors, timeouts, refused connections, a cancelled context and 4xx
	// replies.
	KindTemporary Kind = iota
	// KindPermanent: this message will never be accepted; do not retry.
	// 5xx replies to MAIL, RCPT or DATA (unknown mailbox, message too big,
	// policy rejection) and an invalid envelope.
	KindPermanent
	// KindConfig: the message is fine but sekisho's SMTP settings or the
	// server's certificate are wrong, so every message fails until an
	// operator fixes them. Authentication failures (530, 534, 535, 538 and
	// "authenticate first"), certificate and TLS handshake errors, a server
	// without STARTTLS or a usable AUTH mechanism, refusing to send
	// credentials without TLS, an invalid SMTPConfig, and 5xx replies to the
	// greeting, EHLO or STARTTLS. These are logged at error level. A retry
	// helps once the configuration is fixed, so IsPermanent reports false;
	// an outbox should retry them with backoff and its own age limit.
	KindConfig
)

// String returns "temporary", "permanent" or "config".
func (k Kind) String() string {
	switch k {
	case KindTemporary:
		return "temporary"
	case KindPermanent:
		return "permanent"
	case KindConfig:
		return "config"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Errors that SMTPSender wraps in a *SendError of KindConfig.
var (
	// ErrInvalidConfig reports an SMTPConfig that fails Validate.
	ErrInvalidConfig = errors.New("mail: invalid smtp configuration")
	// ErrInsecureAuth reports credentials that would be sent over a
	// connection without TLS to a host that is not loopback.
	ErrInsecureAuth = errors.New("mail: refusing to send smtp credentials without tls to a non-loopback host")
	// ErrNoAuthMechanism reports a server that offers neither PLAIN nor LOGIN
	// (or no AUTH at all) while a username is configured.
	ErrNoAuthMechanism = errors.New("mail: smtp server offers no supported auth mechanism (PLAIN, LOGIN)")
	// ErrStartTLSUnsupported reports a server that does not offer STARTTLS
	// while security is "starttls".
	ErrStartTLSUnsupported = errors.New("mail: smtp server does not offer STARTTLS")
)

// Operations named in SendError.Op.
const (
	opConfig   = "config"
	opEnvelope = "envelope"
	opDial     = "dial"
	opStartTLS = "starttls"
	opHello    = "hello"
	opAuth     = "auth"
	opMail     = "mail"
	opRcpt     = "rcpt"
	opData     = "data"
	// opCheck: the send's own check (withSendCheck) stopped it before
	// MAIL FROM; nothing was refused.
	opCheck = "check"
)

// SendError is the error of SMTPSender.Send.
type SendError struct {
	// Kind says whether a retry can help.
	Kind Kind
	// Op is the step that failed: "config", "envelope", "dial", "starttls",
	// "hello", "auth", "mail", "rcpt" or "data".
	Op string
	// Code and EnhancedCode are the server's reply, such as 550 and
	// {5, 1, 1}; Code is 0 when the server did not reply with an error.
	Code         int
	EnhancedCode [3]int
	// Message is the server's reply text with email addresses redacted to
	// "***@domain".
	Message string
	// Err is the underlying error (an *smtp.SMTPError, a net.Error, ...).
	Err error
}

// Error describes the failure without the recipient's address.
func (e *SendError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("mail: smtp %s: server replied %d %s: %s (%s)", e.Op, e.Code, formatEnhancedCode(e.EnhancedCode), e.Message, e.Kind)
	}
	return fmt.Sprintf("mail: smtp %s: %v (%s)", e.Op, e.Err, e.Kind)
}

// Unwrap returns Err.
func (e *SendError) Unwrap() error { return e.Err }

// Temporary reports whether a later retry may succeed: true for
// KindTemporary and KindConfig.
func (e *SendError) Temporary() bool { return e.Kind != KindPermanent }

// IsPermanent reports whether err says the message can never be delivered,
// so an outbox should stop retrying it. It is false for nil, for
// KindTemporary and KindConfig errors, and for errors that are not a
// *SendError.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Kind == KindPermanent
}

// KindOf returns the Kind of a *SendError in err's chain, and KindTemporary
// for any other non-nil error.
func KindOf(err error) Kind {
	var se *SendError
	if errors.As(err, &se) {
		return se.Kind
	}
	return KindTemporary
}

// formatEnhancedCode formats an enhanced status code as "5.1.1", or "-"
// when the server sent none.
func formatEnhancedCode(c [3]int) string {
	if c[0] <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
}

// addressPattern matches the local part and "@" of an email address in a
// server reply, for redaction.
var addressPattern = regexp.MustCompile(`[^\s<>()\[\],;:"@]+@`)

// redactAddresses replaces the local part of every address in s with
// "***", keeping the domain.
func redactAddresses(s string) string {
	return addressPattern.ReplaceAllString(s, "***@")
}

// classify turns an error of step op into a *SendError. ctx is the context
// of Send: when it is done, the failure is temporary whatever the
// connection reported after being closed.
func classify(ctx context.Context, op string, err error) *SendError {
	se := &SendError{Kind: KindTemporary, Op: op, Err: err}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if !errors.Is(err, ctxErr) {
			se.Err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return se
	}
	var smtpErr *smtp.SMTPError
	if errors.As(err, &smtpErr) {
		se.Code = smtpErr.Code
		se.EnhancedCode = [3]int(smtpErr.EnhancedCode)
		se.Message = redactAddresses(strings.TrimSpace(smtpErr.Message))
		switch {
		case isAuthReply(smtpErr):
			se.Kind = KindConfig
		case smtpErr.Code >= 500 && smtpErr.Code < 600:
			switch op {
			case opMail, opRcpt, opData:
				se.Kind = KindPermanent
			default:
				se.Kind = KindConfig
			}
		}
		return se
	}
	if isConfigError(err) {
		se.Kind = KindConfig
	}
	return se
}

// isAuthReply reports replies that mean our credentials are missing or
// wrong: 530 authentication required, 534 mechanism too weak, 535
// credentials invalid, 538 encryption required, and go-smtp's
// ErrAuthRequired (502 5.7.0 "Please authenticate first").
func isAuthReply(e *smtp.SMTPError) bool {
	switch e.Code {
	case 530, 534, 535, 538:
		return true
	case 502:
		return e.EnhancedCode == smtp.ErrAuthRequired.EnhancedCode
	}
	return false
}

// isConfigError reports certificate and TLS handshake failures and our own
// configuration sentinels.
func isConfigError(err error) bool {
	var (
		verifyErr    *tls.CertificateVerificationError
		unknownCA    x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidCert  x509.CertificateInvalidError
		alertErr     tls.AlertError
		recordHdrErr tls.RecordHeaderError
	)
	return errors.As(err, &verifyErr) ||
		errors.As(err, &unknownCA) ||
		errors.As(err, &hostnameErr) ||
		errors.As(err, &invalidCert) ||
		errors.As(err, &alertErr) ||
		errors.As(err, &recordHdrErr) ||
		errors.Is(err, ErrInvalidConfig) ||
		errors.Is(err, ErrInsecureAuth) ||
		errors.Is(err, ErrNoAuthMechanism) ||
		errors.Is(err, ErrStartTLSUnsupported)
}
