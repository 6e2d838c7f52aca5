package server

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	netmail "net/mail"
	"strings"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/secret"
)

// newMailOutbox builds the mail outbox on SMTP, or, under --dev without
// smtp.host, on the development sink (the log and /dev/mail), which it
// returns too.
// logoPath is the path of the logo, linked under the issuer in HTML mails.
func newMailOutbox(cfg *config.Config, o Options, keys *secret.Keys, logoPath string, outcome func(string)) (*mail.Outbox, *mail.DevSender, error) {
	from, err := netmail.ParseAddress(cfg.SMTP.From)
	if err != nil {
		return nil, nil, fmt.Errorf("server: smtp.from: %w", err)
	}
	var sender mail.Sender
	var dev *mail.DevSender
	switch {
	case cfg.SMTP.Host == "" && cfg.Dev:
		dev = mail.NewDevSender(o.Logger, mail.DefaultDevKeep)
		sender = dev
	case cfg.SMTP.Host == "":
		o.Logger.Warn("smtp.host is not set: mails wait in the outbox until it is")
		sender = unconfiguredSMTP{}
	default:
		sender = mail.NewSMTPSender(mail.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Security: cfg.SMTP.Security,
			Username: cfg.SMTP.Username, Password: cfg.SMTP.Password, From: from.Address, Timeout: cfg.SMTP.Timeout.D(),
			TLSConfig: o.SMTPTLS}, o.Logger)
	}
	logoURL := ""
	if logoPath != "" {
		logoURL = strings.TrimSuffix(cfg.Issuer, "/") + logoPath
	}
	return mail.NewOutbox(mail.OutboxConfig{Store: o.Store, Sender: sender, Sealer: keys,
		From: mail.Address{Name: from.Name, Email: from.Address}, Product: cfg.ProductName(),
		Support: cfg.Branding.Support.Text(), LogoURL: logoURL, DefaultLang: cfg.UI.DefaultLanguage,
		Parallel: 4, RetryDelay: cfg.SMTP.RetryDelay.D(), MaxAttempts: cfg.SMTP.MaxAttempts,
		Timeout: 2 * cfg.SMTP.Timeout.D(), Poll: cfg.SMTP.PollInterval.D(), Now: o.Now, Logger: o.Logger,
		Outcome: outcome}), dev, nil
}

// unconfiguredSMTP keeps mails in the outbox (a temporary failure) until
// an operator sets smtp.host.
type unconfiguredSMTP struct{}

func (unconfiguredSMTP) Send(_ context.Context, _ string, _ []string, _ []byte) error {
	return &mail.SendError{Kind: mail.KindConfig, Op: "dial", Message: "smtp.host is not set"}
}

var devMailTemplate = template.Must(template.New("devmail").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Recent mails (development)</title></head>
<body><h1>Recent mails</h1><p>Development mode: mails are not sent, they are shown here and in the log.</p>
{{range .}}<section><h2>{{.Subject}}</h2><p>To {{range .To}}{{.}} {{end}}at {{.Time.Format "2006-01-02 15:04:05"}}</p><pre>{{.Text}}</pre></section>
{{else}}<p>No mail yet.</p>{{end}}</body></html>`))

// devMailPage lists the development sink's recent mails (--dev only).
func devMailPage(d *mail.DevSender) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = devMailTemplate.Execute(w, d.Recent())
	})
}
