// Package mail composes and delivers sekisho's transactional email (sign-in
// codes, password-reset codes, security notifications).
//
// Composing and sending are separate steps so that a durable outbox can sit
// between them: Message.Bytes renders an RFC 5322 message to bytes, which
// the caller may store, and a Sender delivers such bytes later.
//
// Two senders exist:
//
//   - SMTPSender delivers through an SMTP submission server (plain, STARTTLS
//     or implicit TLS; SASL PLAIN or LOGIN). Its errors are *SendError values
//     that say whether a retry can help (see Kind and IsPermanent).
//   - DevSender, for development without an SMTP server, writes each message
//     to the log and keeps the most recent ones in memory for a dev-only
//     page.
//
// Header injection: Message.Bytes refuses (with ErrInvalidHeader or
// ErrInvalidAddress) any header value containing a control character such
// as CR or LF, in display names, the subject and extra headers alike. It
// never strips or rewrites such input silently; callers that store
// user-supplied names should reject control characters when the name is
// entered.
package mail
