package referral

import (
	"context"
	"log/slog"
)

// What a staff side (telegramstaff) needs of the desk beyond the staff
// actions (Claim, Close, Note, Reply and their *As / *Once forms): the case a
// message in a staff group belongs to, the staff texts, and counting what
// it refused.

// CaseOfTopic is the case discussed in a group's forum topic ("" if none).
func (s *Desk) CaseOfTopic(ctx context.Context, group int64, thread int) (string, error) {
	return s.store.byTopic(ctx, group, thread)
}

// CaseOfMessage is the case a message in a chat belongs to: a card, relay
// or notice in a staff group, or a staff message in the person's chat ("" if
// none).
func (s *Desk) CaseOfMessage(ctx context.Context, chat int64, msgID int) (string, error) {
	return s.store.byMessage(ctx, chat, msgID)
}

// Texts the staff side answers staff with (StaffText).
const (
	TextAnswerClaimed   = tAnswerClaimed
	TextAnswerTaken     = tAnswerTaken
	TextAnswerClosed    = tAnswerClosed
	TextAnswerNotOpen   = tAnswerNotOpen
	TextAnswerWithdrawn = tAnswerWithdrawn
	TextAnswerNotCase   = tAnswerNotCase
	TextAnswerOther     = tAnswerOther
	TextAnswerBlocked   = tAnswerBlocked
	TextAnswerCommand   = tAnswerCommand
	TextAnswerNotMember = tAnswerNotMember
	TextGuideHelp       = tGuideHelp
)

// StaffText is a staff-facing text in the staff language (plain text; the
// English fallback where the content lacks it).
func (s *Desk) StaffText(id string) string { return s.text(id) }

// CountRefused counts a staff update refused for reason ("not_member",
// "other_group", ...: putokaz_referral_staff_refused_total).
func (s *Desk) CountRefused(reason string) { s.m.refused.WithLabelValues(reason).Inc() }

// Log is the desk's logger, for its staff side.
func (s *Desk) Log() *slog.Logger { return s.log }
