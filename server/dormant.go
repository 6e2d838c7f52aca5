package server

import (
	"context"

	"github.com/sekisho/sekisho/storage"
)

// dormantBatch is how many accounts one MarkDormant transaction marks.
const dormantBatch = 100

// sweepDormant marks the accounts the dormant rule locks now, each once
// on whichever replica gets there first: account_dormant is written and,
// with lifecycle.revoke_on_dormant, their sessions end, every token of
// theirs (offline ones too) is revoked and their clients' back-channel
// logout deliveries are queued for the logout workers, in the same
// transaction.
func (s *Server) sweepDormant(ctx context.Context) {
	after := s.cfg.Lifecycle.DormantAfterD()
	if after <= 0 {
		return
	}
	for ctx.Err() == nil {
		now := s.now().UTC()
		sweep := storage.DormantSweep{IdleBefore: now.Add(-after), Now: now, Limit: dormantBatch,
			Audit: storage.AuditEvent{Type: "account_dormant", Outcome: "success"}}
		if s.cfg.Lifecycle.Revokes() {
			end := s.logout.Prepare(storage.SessionEnd{Reason: storage.EndDormant, RevokeAllTokens: true, Now: now})
			sweep.End = &end
		}
		res, err := s.store.MarkDormant(ctx, sweep)
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "mark dormant accounts", "err", err)
			}
			return
		}
		if len(res.Marked) > 0 || res.Cleared > 0 {
			s.log.InfoContext(ctx, "marked dormant accounts", "accounts", len(res.Marked), "cleared", res.Cleared,
				"deliveries", len(res.Ended.Deliveries))
		}
		if len(res.Marked) < dormantBatch {
			return
		}
	}
}
