package mail_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sekisho/sekisho/mail"
)

func TestDevSenderKeepsLastN(t *testing.T) {
	logger, logs := newLogger(t)
	dev := mail.NewDevSender(logger, 2)
	clock := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	dev.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }

	for i := 1; i <= 3; i++ {
		m := sampleMessage()
		m.Subject = fmt.Sprintf("【sekisho】お知らせ %d", i)
		m.Text = fmt.Sprintf("確認コード：%06d\n", i)
		rcpt := fmt.Sprintf("user%d@example.jp", i)
		if err := dev.Send(t.Context(), "noreply@id.example.com", []string{rcpt}, compose(t, m)); err != nil {
			t.Fatalf("Send() = %v", err)
		}
	}
	want := []mail.DevMail{
		{Time: clock, From: "noreply@id.example.com", To: []string{"user3@example.jp"}, Subject: "【sekisho】お知らせ 3", Text: "確認コード：000003\n", HTML: sampleMessage().HTML},
		{Time: clock.Add(-time.Minute), From: "noreply@id.example.com", To: []string{"user2@example.jp"}, Subject: "【sekisho】お知らせ 2", Text: "確認コード：000002\n", HTML: sampleMessage().HTML},
	}
	if diff := cmp.Diff(want, dev.Recent(), cmpopts.EquateErrors()); diff != "" {
		t.Errorf("Recent() (-want +got):\n%s", diff)
	}
	out := logs.String()
	for _, w := range []string{"user3@example.jp", "お知らせ 3", "000003"} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
}

func TestDevSenderUnparsable(t *testing.T) {
	dev := mail.NewDevSender(nil, 0)
	if err := dev.Send(t.Context(), "a@example.com", []string{"b@example.com"}, []byte("garbage")); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	got := dev.Recent()
	if len(got) != 1 || got[0].ParseErr == nil || got[0].Text != "garbage" {
		t.Errorf("Recent() = %+v, want the raw text and a parse error", got)
	}
}

func TestDevSenderConcurrent(t *testing.T) {
	dev := mail.NewDevSender(nil, 5)
	raw := compose(t, sampleMessage())
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_ = dev.Send(t.Context(), "a@example.com", []string{"b@example.com"}, raw)
			_ = dev.Recent()
		})
	}
	wg.Wait()
	if n := len(dev.Recent()); n != 5 {
		t.Errorf("len(Recent()) = %d, want 5", n)
	}
}

func TestDevSenderRecentIsACopy(t *testing.T) {
	dev := mail.NewDevSender(nil, 1)
	if err := dev.Send(t.Context(), "a@example.com", []string{"b@example.com"}, compose(t, sampleMessage())); err != nil {
		t.Fatal(err)
	}
	dev.Recent()[0].To[0] = "changed@example.com"
	if got := dev.Recent()[0].To[0]; got != "b@example.com" {
		t.Errorf("Recent() shares memory: To[0] = %q", got)
	}
}
