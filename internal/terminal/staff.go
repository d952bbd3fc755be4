package terminal

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"putokaz/internal/engine"
)

// LocalStaff stands in for staff when there is no Telegram (the terminal
// chat and its transcripts): it accepts referrals and handoffs, prints what
// staff would receive, and answers /status for referrals and live chats
// made here.
type LocalStaff struct {
	w    io.Writer
	mu   sync.Mutex
	made map[string]bool // user + "/" + code
	last map[string][2]string
}

// NewLocalStaff prints staff-side events to w.
func NewLocalStaff(w io.Writer) *LocalStaff {
	return &LocalStaff{w: w, made: map[string]bool{}, last: map[string][2]string{}}
}

// LastReferral is the newest referral of user made here (code, service).
func (l *LocalStaff) LastReferral(user string) (string, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.last[user]
	return r[0], r[1]
}

// Apply records an effect and shows it.
func (l *LocalStaff) Apply(_ context.Context, user, lang string, fx engine.Effect) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := ""
	switch fx.Kind {
	case engine.EffectReferral:
		l.made[user+"/"+fx.Code] = true
		l.last[user] = [2]string{fx.Code, fx.Service}
		keys := make([]string, 0, len(fx.Vars))
		for k := range fx.Vars {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var answers []string
		for _, k := range keys {
			answers = append(answers, k+"="+fx.Vars[k])
		}
		line = fmt.Sprintf("referral %s for %s (%s), consent %s: %s", fx.Code, fx.Service, lang, fx.ConsentVersion, strings.Join(answers, ", "))
	case engine.EffectHandoff:
		line = "the person asks to talk to " + fx.Service
		if fx.Code != "" { // a live chat has a code too: /status answers for it
			l.made[user+"/"+fx.Code] = true
			line += " (chat " + fx.Code + ")"
		}
	case engine.EffectRelay:
		line = "relayed: " + describe(fx.Input)
		if fx.Code != "" {
			line = "relayed to " + fx.Code + ": " + describe(fx.Input)
		}
	case engine.EffectEmergency:
		switch {
		case fx.Code != "":
			line = "EMERGENCY alert in case " + fx.Code
		case fx.Service == "":
			return nil
		default:
			line = "EMERGENCY alert in the chat with " + fx.Service
		}
	case engine.EffectHandoffEnd:
		line = "the person left the chat with " + fx.Service
	case engine.EffectErase:
		for k := range l.made {
			if strings.HasPrefix(k, user+"/") {
				delete(l.made, k)
			}
		}
		delete(l.last, user)
		line = "everything about the person was erased; staff are told they withdrew"
	case engine.EffectFeedback:
		line = "feedback for " + fx.Service + ": " + fx.Value
	case engine.EffectQuickExit:
		// Not staff's business: what the phone shows. Telegram deletes the
		// chat's messages here; the terminal can only say so.
		fmt.Fprintln(l.w, "  ── quick exit: the messages of this chat are deleted from the phone")
		return nil
	default:
		return nil
	}
	fmt.Fprintf(l.w, "  ── staff: %s\n", line)
	return nil
}

// ReferralStatus answers /status for referrals and live chats made in this
// chat.
func (l *LocalStaff) ReferralStatus(_ context.Context, user, code string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.made[user+"/"+code] {
		return engine.StatusReceived, nil
	}
	return "", nil
}

func describe(in *engine.Input) string {
	if in == nil {
		return "?"
	}
	switch in.Kind {
	case engine.InText:
		return fmt.Sprintf("%q", in.Text)
	case engine.InLocation:
		return "a location"
	case engine.InContact:
		return "a contact"
	case engine.InMedia:
		return "a " + in.Media
	}
	return "a message"
}
