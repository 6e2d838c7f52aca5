package storagetest

import (
	"sync"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func newMail(id string, created time.Time) storage.OutboxMail {
	return storage.OutboxMail{ID: id, Recipient: id + "@example.com", Subject: "Your code", Template: "login_code",
		Body: []byte("sealed-" + id), WorkState: storage.WorkState{CreatedAt: created}}
}

func testMailOutbox(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	queue, err := s.MailQueue(ctx)
	must(t, err)
	diff(t, "empty queue", storage.QueueStats{ByStatus: map[string]int{}}, queue)
	must(t, s.EnqueueMail(ctx, newMail("m2", t0.Add(time.Second))))
	must(t, s.EnqueueMail(ctx, newMail("m1", t0)))
	later := newMail("m3", t0)
	later.NextAttemptAt = t0.Add(time.Hour)
	must(t, s.EnqueueMail(ctx, later))
	queue, err = s.MailQueue(ctx)
	must(t, err)
	diff(t, "queue", storage.QueueStats{ByStatus: map[string]int{storage.DeliveryPending: 3}, OldestPending: t0}, queue)
	wantErr(t, "EnqueueMail(duplicate)", s.EnqueueMail(ctx, newMail("m1", t0)), storage.ErrAlreadyExists)
	// Several mails go in one transaction: a duplicate among them writes
	// none.
	wantErr(t, "EnqueueMail(batch with a duplicate)", s.EnqueueMail(ctx, newMail("b1", t0), newMail("m1", t0)), storage.ErrAlreadyExists)
	if _, err := s.GetMail(ctx, "b1"); err == nil {
		t.Error("a failed batch wrote a mail")
	}

	got, err := s.GetMail(ctx, "m1")
	must(t, err)
	want := newMail("m1", t0)
	want.Status, want.NextAttemptAt, want.UpdatedAt = storage.DeliveryPending, t0, t0
	diff(t, "enqueued mail", want, got)

	now := t0.Add(time.Minute)
	lease := now.Add(time.Minute)
	claimed, err := s.ClaimMail(ctx, storage.DeliveryClaim{Now: now, Lease: lease})
	must(t, err)
	if len(claimed) != 2 || claimed[0].ID != "m1" || claimed[1].ID != "m2" || claimed[0].Attempts != 1 || string(claimed[0].Body) != "sealed-m1" {
		t.Fatalf("claimed = %+v, want m1, m2 (m3 is not due) with bodies", claimed)
	}
	if again, _ := s.ClaimMail(ctx, storage.DeliveryClaim{Now: now, Lease: lease}); len(again) != 0 {
		t.Errorf("claimed twice: %+v", again)
	}

	// Delivered: the body goes, what an operator needs stays.
	must(t, s.FinishMail(ctx, "m1", storage.DeliveryOutcome{Now: now, Delivered: true}))
	got, err = s.GetMail(ctx, "m1")
	must(t, err)
	if got.Body != nil || got.Status != storage.DeliveryDelivered || got.Recipient != "m1@example.com" ||
		got.Subject != "Your code" || got.Template != "login_code" || got.FinishedAt == nil {
		t.Errorf("delivered mail = %+v", got)
	}
	// Failed: the body stays for a retry.
	must(t, s.FinishMail(ctx, "m2", storage.DeliveryOutcome{Now: now, Final: true, Error: "550 no such user"}))
	got, err = s.GetMail(ctx, "m2")
	must(t, err)
	if string(got.Body) != "sealed-m2" || got.Status != storage.DeliveryFailed || got.LastError != "550 no such user" {
		t.Errorf("failed mail = %+v", got)
	}
	failed, err := s.ListMail(ctx, storage.DeliveryFilter{Status: storage.DeliveryFailed})
	must(t, err)
	if len(failed) != 1 || failed[0].ID != "m2" {
		t.Errorf("failed list = %+v", failed)
	}
	// The queue: m3, not due yet, waits since t0.
	queue, err = s.MailQueue(ctx)
	must(t, err)
	diff(t, "queue", storage.QueueStats{ByStatus: map[string]int{storage.DeliveryPending: 1, storage.DeliveryDelivered: 1,
		storage.DeliveryFailed: 1}, OldestPending: t0}, queue)

	retryAt := now.Add(time.Minute)
	must(t, s.RetryMail(ctx, "m2", retryAt))
	got, err = s.GetMail(ctx, "m2")
	must(t, err)
	if got.Status != storage.DeliveryPending || got.Attempts != 0 || !got.NextAttemptAt.Equal(retryAt) || got.FinishedAt != nil {
		t.Errorf("retried mail = %+v", got)
	}
	claimed, err = s.ClaimMail(ctx, storage.DeliveryClaim{Now: retryAt, Lease: retryAt.Add(time.Minute)})
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != "m2" {
		t.Errorf("claim after retry = %+v", claimed)
	}
	wantErr(t, "RetryMail(delivered)", s.RetryMail(ctx, "m1", retryAt), storage.ErrConflict)
	wantErr(t, "RetryMail(missing)", s.RetryMail(ctx, "nope", retryAt), storage.ErrNotFound)
	wantErr(t, "FinishMail(missing)", s.FinishMail(ctx, "nope", storage.DeliveryOutcome{Now: now}), storage.ErrNotFound)

	all, err := s.ListMail(ctx, storage.DeliveryFilter{})
	must(t, err)
	if len(all) != 3 || all[0].ID != "m2" {
		t.Errorf("list = %d mails, first %q; want 3, newest (m2) first", len(all), all[0].ID)
	}
	_, err = s.DeleteExpired(ctx, now.Add(8*24*time.Hour))
	must(t, err)
	if _, err := s.GetMail(ctx, "m1"); err == nil {
		t.Error("a mail delivered 8 days ago was kept")
	}
	if _, err := s.GetMail(ctx, "m3"); err != nil {
		t.Errorf("a pending mail was swept: %v", err)
	}
}

// testMailExpiry: a mail that carries a code is never claimed at or after
// its expiry; ExpireMail finishes it (once, whoever calls), unless a
// claim still holds it. Codes' mails expire with their codes.
func testMailExpiry(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	exp := t0.Add(time.Minute)
	expiring := func(id string) storage.OutboxMail {
		m := newMail(id, t0)
		m.ExpiresAt = &exp
		return m
	}
	must(t, s.EnqueueMail(ctx, expiring("m-exp"), newMail("m-none", t0), expiring("m-held")))
	got, err := s.GetMail(ctx, "m-exp")
	must(t, err)
	if got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, exp)
	}
	if got, _ := s.GetMail(ctx, "m-none"); got.ExpiresAt != nil {
		t.Errorf("a mail without expiry reads back with %v", got.ExpiresAt)
	}
	// Claimed just before its expiry, a mail is sent: its claim holds it.
	held, err := s.ClaimMail(ctx, storage.DeliveryClaim{IDs: []string{"m-held"}, Now: exp.Add(-time.Microsecond), Lease: exp.Add(time.Hour)})
	must(t, err)
	if len(held) != 1 {
		t.Fatalf("claim before expiry = %+v", held)
	}
	// At its expiry a mail is claimed neither when due nor by name.
	claimed, err := s.ClaimMail(ctx, storage.DeliveryClaim{Now: exp, Lease: exp.Add(time.Minute)})
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != "m-none" {
		t.Errorf("claim at expiry = %+v, want only m-none", claimed)
	}
	if c, _ := s.ClaimMail(ctx, storage.DeliveryClaim{IDs: []string{"m-exp"}, Now: exp, Lease: exp.Add(time.Minute)}); len(c) != 0 {
		t.Errorf("an expired mail was claimed by name: %+v", c)
	}
	n, err := s.ExpireMail(ctx, exp)
	must(t, err)
	if n != 1 {
		t.Errorf("ExpireMail = %d, want 1 (m-held is claimed, m-none has no expiry)", n)
	}
	got, err = s.GetMail(ctx, "m-exp")
	must(t, err)
	if got.Status != storage.DeliveryExpired || got.Body != nil || got.FinishedAt == nil || !got.FinishedAt.Equal(exp) ||
		got.Recipient != "m-exp@example.com" {
		t.Errorf("expired mail = %+v", got)
	}
	if n, _ := s.ExpireMail(ctx, exp.Add(time.Minute)); n != 0 {
		t.Errorf("ExpireMail again = %d, want 0", n)
	}
	wantErr(t, "RetryMail(expired)", s.RetryMail(ctx, "m-exp", exp), storage.ErrConflict)
	if c, _ := s.ClaimMail(ctx, storage.DeliveryClaim{IDs: []string{"m-exp"}, Now: exp.Add(time.Hour), Lease: exp.Add(2 * time.Hour)}); len(c) != 0 {
		t.Errorf("a finished expired mail was claimed: %+v", c)
	}
	// Once the claim's lease ran out (the worker died), the held mail
	// expires too.
	after := exp.Add(time.Hour)
	if n, _ := s.ExpireMail(ctx, after); n != 1 {
		t.Errorf("ExpireMail after the lease = %d, want 1", n)
	}
	list, err := s.ListMail(ctx, storage.DeliveryFilter{Status: storage.DeliveryExpired})
	must(t, err)
	if len(list) != 2 {
		t.Errorf("expired list = %+v, want m-exp and m-held", list)
	}

	// Concurrent callers (replicas) count every mail once.
	var batch []storage.OutboxMail
	for i := range 20 {
		m := expiring("b" + string(rune('a'+i)))
		batch = append(batch, m)
	}
	must(t, s.EnqueueMail(ctx, batch...))
	var mu sync.Mutex
	total := 0
	errs := race(8, func(int) error {
		n, err := s.ExpireMail(ctx, after)
		mu.Lock()
		total += n
		mu.Unlock()
		return err
	})
	for _, err := range errs {
		must(t, err)
	}
	if total != 20 {
		t.Errorf("8 concurrent ExpireMail counted %d mails, want 20", total)
	}

	// A code's mail expires with the code, and a resend's with the new one.
	c := newCode("c1", "u1")
	c.Purpose = storage.PurposeLogin
	must(t, s.CreateCode(ctx, c, mailPtr("code-mail", t0)))
	if m, _ := s.GetMail(ctx, "code-mail"); m.ExpiresAt == nil || !m.ExpiresAt.Equal(c.ExpiresAt) {
		t.Errorf("code mail ExpiresAt = %v, want the code's %v", m.ExpiresAt, c.ExpiresAt)
	}
	renewed := t0.Add(20 * time.Minute)
	_, err = s.RenewCode(ctx, storage.CodeRenewal{ID: "c1", CodeHash: "code-new", Now: t0, ExpiresAt: renewed, MaxFailures: 5,
		Mail: newMail("resend-mail", t0)})
	must(t, err)
	if m, _ := s.GetMail(ctx, "resend-mail"); m.ExpiresAt == nil || !m.ExpiresAt.Equal(renewed) {
		t.Errorf("resend mail ExpiresAt = %v, want %v", m.ExpiresAt, renewed)
	}
}
