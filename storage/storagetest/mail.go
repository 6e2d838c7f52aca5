package storagetest

import (
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
	must(t, s.EnqueueMail(ctx, newMail("m1", t0)))
	must(t, s.EnqueueMail(ctx, newMail("m2", t0.Add(time.Second))))
	later := newMail("m3", t0)
	later.NextAttemptAt = t0.Add(time.Hour)
	must(t, s.EnqueueMail(ctx, later))
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
