// Package outbox delivers work that leaves the process — mails and
// back-channel logout notifications — from rows written in the same
// transaction as the change that caused them. Any replica claims due rows
// (a lease keeps others away while it works), attempts them in parallel,
// and records the outcome: delivered, retried later with a doubling delay,
// or failed for good.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// ErrFinal marks an attempt whose failure retrying cannot change (the
// receiver refused it). Wrap it: fmt.Errorf("%w: HTTP 400", outbox.ErrFinal).
var ErrFinal = errors.New("final")

// ErrExpired marks an attempt that found its row expired when it was
// about to hand it over (Send checks as late as it can, since a claim
// can wait on a slow connection): the row is finished as expired
// (Config.Expire), never as failed. Wrap it like ErrFinal.
var ErrExpired = errors.New("expired before it could be sent")

// Outcomes passed to Config.Outcome.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeFailed    = "failed"
	// OutcomeExpired: a row finished unsent because it expired (Expire).
	OutcomeExpired = "expired"
)

// Config configures a Queue.
type Config[T any] struct {
	Name string // for log lines: "mail", "logout"

	// Claim claims due rows (or the named ones), counting an attempt.
	Claim func(ctx context.Context, c storage.DeliveryClaim) ([]T, error)
	// Send makes one attempt. nil: delivered; an error wrapping ErrFinal:
	// failed for good; any other error: retried.
	Send func(ctx context.Context, item T) error
	// Finish records the outcome of an attempt.
	Finish func(ctx context.Context, id string, o storage.DeliveryOutcome) error
	// ID and Attempts read a claimed row.
	ID       func(T) string
	Attempts func(T) int
	// Expire, when set, finishes the rows that expired unsent by now and
	// reports how many; it runs before each round of due rows. (Claim
	// must not return expired rows either.)
	Expire func(ctx context.Context, now time.Time) (int, error)

	Parallel    int           // rows attempted at once
	RetryDelay  time.Duration // before the second attempt, doubled after
	MaxAttempts int           // then failed for good
	// AttemptTimeout bounds one Send; the lease is twice that plus 5 s.
	AttemptTimeout time.Duration
	Now            func() time.Time
	Logger         *slog.Logger
	// Outcome, when set, is called once per attempt.
	Outcome func(outcome string)
}

// Queue delivers the rows of one work table.
type Queue[T any] struct {
	c        Config[T]
	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// New returns a queue.
func New[T any](c Config[T]) *Queue[T] {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Outcome == nil {
		c.Outcome = func(string) {}
	}
	if c.Parallel < 1 {
		c.Parallel = 1
	}
	return &Queue[T]{c: c}
}

// Lease is how long a claim keeps other workers away: twice the attempt
// timeout, and time to record the outcome.
func (q *Queue[T]) Lease() time.Duration { return 2*q.c.AttemptTimeout + 5*time.Second }

// DeliverNow attempts the named rows now, in parallel, and waits until all
// are recorded or wait has passed (or ctx ends). Attempts not done by then
// continue in the background.
func (q *Queue[T]) DeliverNow(ctx context.Context, ids []string, wait time.Duration) {
	if len(ids) == 0 {
		return
	}
	now := q.c.Now().UTC()
	lease := now.Add(q.Lease())
	items, err := q.c.Claim(ctx, storage.DeliveryClaim{IDs: ids, Now: now, Lease: lease, Limit: len(ids)})
	if err != nil {
		q.c.Logger.WarnContext(ctx, "claim "+q.c.Name, "err", err)
		return
	}
	q.SendClaimed(ctx, items, lease, wait)
}

// SendClaimed attempts rows the caller claimed until lease, and waits like
// DeliverNow.
func (q *Queue[T]) SendClaimed(ctx context.Context, items []T, lease time.Time, wait time.Duration) {
	if len(items) == 0 {
		return
	}
	done := q.send(context.WithoutCancel(ctx), items, lease)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
}

// DeliverDue finishes the rows that expired (Config.Expire), then
// attempts the rows that are due, Parallel at a time, until none is left
// or ctx ends.
func (q *Queue[T]) DeliverDue(ctx context.Context) {
	q.expire(ctx)
	for ctx.Err() == nil {
		now := q.c.Now().UTC()
		lease := now.Add(q.Lease())
		items, err := q.c.Claim(ctx, storage.DeliveryClaim{Now: now, Lease: lease, Limit: q.c.Parallel})
		if err != nil {
			if ctx.Err() == nil {
				q.c.Logger.WarnContext(ctx, "claim "+q.c.Name, "err", err)
			}
			return
		}
		if len(items) == 0 {
			return
		}
		<-q.send(context.WithoutCancel(ctx), items, lease)
	}
}

// expire runs Config.Expire and counts what it finished.
func (q *Queue[T]) expire(ctx context.Context) {
	if q.c.Expire == nil {
		return
	}
	n, err := q.c.Expire(ctx, q.c.Now().UTC())
	if err != nil {
		if ctx.Err() == nil {
			q.c.Logger.WarnContext(ctx, "expire "+q.c.Name, "err", err)
		}
		return
	}
	for range n {
		q.c.Outcome(OutcomeExpired)
	}
	if n > 0 {
		q.c.Logger.InfoContext(ctx, "expired before it could be sent", "queue", q.c.Name, "rows", n)
	}
}

// Run delivers due rows every poll until ctx ends, then closes the queue.
func (q *Queue[T]) Run(ctx context.Context, poll time.Duration) {
	defer q.Close()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			q.DeliverDue(ctx)
		}
	}
}

// Close stops new attempts and waits for those in flight (at shutdown).
// Rows claimed but not attempted are claimed again once their lease ends.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.inflight.Wait()
}

// send attempts each item in its own goroutine and closes the returned
// channel once all are recorded.
func (q *Queue[T]) send(ctx context.Context, items []T, lease time.Time) <-chan struct{} {
	done := make(chan struct{})
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		close(done)
		return done
	}
	q.inflight.Add(len(items))
	q.mu.Unlock()
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Go(func() {
			defer q.inflight.Done()
			q.attempt(ctx, it, lease)
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

func (q *Queue[T]) attempt(ctx context.Context, it T, lease time.Time) {
	id, attempts := q.c.ID(it), q.c.Attempts(it)
	actx, cancel := context.WithTimeout(ctx, q.c.AttemptTimeout)
	err := q.c.Send(actx, it)
	cancel()
	now := q.c.Now().UTC()
	o := storage.DeliveryOutcome{Now: now, ClaimedUntil: lease}
	log := q.c.Logger.With("queue", q.c.Name, "id", id, "attempt", attempts)
	switch {
	case err == nil:
		o.Delivered = true
		q.c.Outcome(OutcomeDelivered)
		log.DebugContext(ctx, "delivered")
	case errors.Is(err, ErrExpired):
		// Released for Expire below, which finishes and counts it.
		o.Error, o.NextAttemptAt = err.Error(), now
		log.DebugContext(ctx, "expired while it was being sent")
	case errors.Is(err, ErrFinal) || attempts >= q.c.MaxAttempts:
		o.Final, o.Error = true, err.Error()
		q.c.Outcome(OutcomeFailed)
		log.WarnContext(ctx, "delivery failed for good", "err", err)
	default:
		o.Error, o.NextAttemptAt = err.Error(), now.Add(q.Backoff(attempts))
		q.c.Outcome(OutcomeRetry)
		log.InfoContext(ctx, "delivery will be retried", "err", err, "next_attempt_at", o.NextAttemptAt)
	}
	switch err := q.c.Finish(ctx, id, o); {
	case errors.Is(err, storage.ErrConflict):
		log.WarnContext(ctx, "attempt outlived its lease; another worker owns the row now")
	case err != nil:
		log.ErrorContext(ctx, "record delivery outcome", "err", err)
	}
	if errors.Is(err, ErrExpired) {
		q.expire(ctx)
	}
}

// Backoff is RetryDelay·2^(attempts-1), at most an hour.
func (q *Queue[T]) Backoff(attempts int) time.Duration {
	d := float64(q.c.RetryDelay) * math.Pow(2, float64(max(attempts-1, 0)))
	return time.Duration(min(d, float64(time.Hour)))
}

// Final wraps err as a final failure.
func Final(err error) error { return fmt.Errorf("%w: %w", ErrFinal, err) }
