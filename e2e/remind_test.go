package e2e

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/server"
	"github.com/sekisho/sekisho/storage"
)

// TestLegacyRemind: `sekisho legacy remind` queues one reminder per user
// not yet migrated, in the user's language with the operator's subject;
// the running server sends them; migrated, native and disabled accounts
// get none. The mail's link opens the reset, which migrates the user, and
// the next run leaves them out.
func TestLegacyRemind(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		end := time.Date(2027, 3, 31, 23, 59, 0, 0, time.FixedZone("JST", 9*3600))
		e := newEnvSMTP(t, newStore(t), smtp, withLegacy, func(c *config.Config) { c.Legacy.WindowEndsAt = end.Format(time.RFC3339) })
		e.run()
		ctx := t.Context()
		res, err := e.store.ImportLegacyUsers(ctx, []storage.LegacyUser{
			{LegacyID: "L-1", Email: "kei@example.com", Name: "佐藤 恵", PasswordHash: "", Lang: "ja"},
			{LegacyID: "L-2", Email: "ana@example.com", Name: "Ana"},
			{LegacyID: "L-3", Email: "mig@example.com", Name: "Migrated"},
			{LegacyID: "L-4", Email: "off@example.com", Name: "Disabled"},
		}, time.Now(), false)
		if err != nil || len(res) != 4 {
			t.Fatalf("import: %v %v", res, err)
		}
		mig, _ := e.store.GetUserByLegacyID(ctx, "L-3")
		e.migrate(t, mig, newPass)
		off, _ := e.store.GetUserByLegacyID(ctx, "L-4")
		if _, err := e.store.UpdateUser(ctx, off.ID, func(u storage.User) (storage.User, error) {
			u.Disabled = true
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}

		subjects, err := login.ParseSubjectTemplates([]string{
			"ja={{.Name}}様：{{.Product}}のパスワード設定のお願い（{{.Deadline}}まで）",
			"{{.Product}}: set your password by {{.Deadline}}",
		})
		if err != nil {
			t.Fatal(err)
		}
		remind := func() login.RemindResult {
			t.Helper()
			flow, err := server.CLIFlow(server.Options{Config: e.cfg, Store: e.store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			r, err := flow.RemindUnmigrated(ctx, login.Reminder{Subjects: subjects, DefaultLang: "en", Batch: 1})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		if r := remind(); r.Queued != 2 || r.Disabled != 1 {
			t.Fatalf("first run: %+v, want 2 queued and 1 disabled skipped", r)
		}
		kei := mailsTo(t, smtp, "kei@example.com", "", 1)[0]
		if want := "佐藤 恵様：Old Shopのパスワード設定のお願い（2027年3月31日まで）"; kei.Subject != want {
			t.Errorf("Japanese subject %q, want %q", kei.Subject, want)
		}
		if !strings.Contains(kei.Text, "2027年3月31日 23:59（日本時間）までは") {
			t.Errorf("the Japanese mail does not give the window's end:\n%s", kei.Text)
		}
		ana := mailsTo(t, smtp, "ana@example.com", "", 1)[0]
		if want := "Old Shop: set your password by March 31, 2027"; ana.Subject != want {
			t.Errorf("English subject %q, want %q", ana.Subject, want)
		}
		// Nothing to the others, even after the outbox has had time.
		time.Sleep(300 * time.Millisecond)
		for _, addr := range []string{"mig@example.com", "off@example.com", e.user.Email, e.other.Email} {
			if n := countTo(smtp, addr, ""); n != 0 {
				t.Errorf("%d mail(s) to %s, want none", n, addr)
			}
		}
		if n := countTo(smtp, "kei@example.com", ""); n != 1 {
			t.Errorf("%d mails to kei in one run, want 1", n)
		}

		// The link opens the reset in the user's language with the
		// address filled in; the reset migrates.
		link := mailtest.Link(kei.Text, e.cfg.Issuer+"/reset?")
		b := e.browser()
		form := b.get(link)
		vals, _ := formInputs(t, form.doc, "/reset")
		if form.status != http.StatusOK || vals["email"] != "kei@example.com" || !strings.Contains(form.body, `lang="ja"`) {
			t.Fatalf("the reminder's link %s: status %d, email %q", link, form.status, vals["email"])
		}
		codePage := b.post(e.cfg.Issuer+"/reset", url.Values{"id": {vals["id"]}, "email": {vals["email"]}}, e.cfg.Issuer)
		code := mailtest.Code(mailsTo(t, smtp, "kei@example.com", "", 2)[1].Text)
		if done := b.submitReset(t, codePage, code, newPass, newPass); done.url.Path != "/account" {
			t.Errorf("after the reset from the reminder: at %s (status %d)", done.url, done.status)
		}
		if u, _ := e.store.GetUserByLegacyID(ctx, "L-1"); u.Imported() {
			t.Error("the reset from the reminder did not migrate")
		}

		// The next run reminds only who is left.
		if r := remind(); r.Queued != 1 || r.Disabled != 1 {
			t.Errorf("second run: %+v, want 1 queued", r)
		}
		mailsTo(t, smtp, "ana@example.com", "", 2)
		time.Sleep(300 * time.Millisecond)
		if n := countTo(smtp, "kei@example.com", "Old Shop"); n != 1 {
			t.Errorf("a migrated user was reminded again (%d reminders)", n)
		}
	})
}
