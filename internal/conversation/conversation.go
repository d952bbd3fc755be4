// Package conversation runs the engine for one person at a time: it loads the
// session, asks the engine, applies the effects and saves the session. Every
// transport (Telegram, terminal chat, web playground) goes through it. The
// Telegram transport reads and writes the session itself, with its per-chat
// lease (Session, Runner.HandleSession); the others use the store.
package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"putokaz/internal/content"
	"putokaz/internal/engine"
	"putokaz/internal/lease"
)

// Sessions stores one opaque blob per person.
type Sessions interface {
	Load(ctx context.Context, user string) ([]byte, error)
	Save(ctx context.Context, user string, blob []byte) error
	Delete(ctx context.Context, user string) error
}

// EffectHandler carries out effects that reach beyond the conversation
// (referrals, handoff to staff, relaying messages). It must be idempotent for
// a given (user, effect): a failed input may be handled again.
type EffectHandler interface {
	Apply(ctx context.Context, user string, lang string, fx engine.Effect) error
}

// ContentSource gives the content in use (it may change on reload).
type ContentSource interface {
	Content() *content.Content
}

// StatusLookup tells the state of a person's own referral ("" when the code
// is unknown or belongs to someone else).
type StatusLookup interface {
	ReferralStatus(ctx context.Context, user, code string) (string, error)
}

// CaseLookup finds the open referral a person's message answers: the case
// whose staff message (msgID, in the person's chat) they replied to ("" if
// none, not theirs, or not open any more).
type CaseLookup interface {
	ReplyCase(ctx context.Context, user string, msgID int) (code, service string, err error)
}

// SubscriptionLookup tells which topics a person follows (sorted), as the
// store of subscriptions has them.
type SubscriptionLookup interface {
	Subscribed(ctx context.Context, user string) ([]string, error)
}

// ErrCodeTaken is returned by an EffectHandler when a new referral's code is
// already in use; the input is then handled again with a fresh code.
var ErrCodeTaken = errors.New("referral code already taken")

// ErrNoHandler is returned when content needs an effect nobody handles:
// the person must not be told a referral exists when none was stored.
var ErrNoHandler = errors.New("no handler for this effect")

// Runner runs one person's inputs through the engine and applies the
// effects: the conversation core shared by all transports.
type Runner struct {
	sessions Sessions
	engine   *engine.Engine
	content  ContentSource
	effects  EffectHandler
	log      *slog.Logger
	// Observe, if set, is told the engine's notice for every input (metrics).
	Observe func(notice string)
	// OnResult, if set, is told where each handled input left the person
	// (anonymous usage statistics). It is called with the person's lock held:
	// it must be quick and must not block.
	OnResult func(Outcome)
	// Statuses answers /status; nil means every code is unknown.
	Statuses StatusLookup
	// Cases finds the referral a reply answers; nil means replies are
	// ordinary messages.
	Cases CaseLookup
	// Subscriptions, if set, refreshes the topics a person follows in their
	// session: for a person without a readable session (it expired before
	// their subscriptions did) and for /start, /subscribe and /unsubscribe.
	Subscriptions SubscriptionLookup

	// locks serialise the inputs of one person within this process; across
	// processes the Telegram transport holds a per-chat lease.
	locks lease.Local
}

// New builds the conversation core. effects may be nil: effects that need
// a handler then fail the input.
func New(s Sessions, e *engine.Engine, c ContentSource, effects EffectHandler, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	return &Runner{sessions: s, engine: e, content: c, effects: effects, log: log}
}

// Handle processes one input of one person and returns what to send,
// reading and writing the person's session in the store. On an error
// nothing was saved, so handling the same input again is safe.
func (r *Runner) Handle(ctx context.Context, user string, in engine.Input) ([]engine.Message, error) {
	return r.HandleSession(ctx, user, nil, in)
}

// HandleSession is Handle for a transport that read the person's session
// itself (sess): the input starts from sess and the new session is staged
// in it for the transport to write, instead of going to the store. An
// erasure still erases the store at once (and unstages sess). sess nil
// means the store, as Handle.
func (r *Runner) HandleSession(ctx context.Context, user string, sess *Session, in engine.Input) ([]engine.Message, error) {
	unlock, err := r.locks.Lock(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("handle input: wait for the person's earlier input: %w", err)
	}
	defer unlock()

	c := r.content.Content()
	var blob []byte
	if sess != nil {
		blob = sess.Load()
	} else if blob, err = r.sessions.Load(ctx, user); err != nil {
		return nil, fmt.Errorf("handle input: %w", err)
	}
	var res engine.Result
	var seen Outcome
	for attempt := 0; ; attempt++ {
		res, err = r.run(ctx, c, user, blob, in, attempt > 0, &seen)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrCodeTaken) || attempt == 3 {
			return nil, err
		}
	}
	if err := r.keep(ctx, user, sess, res.Session); err != nil {
		return nil, err
	}
	if r.Observe != nil {
		r.Observe(res.Notice)
	}
	if r.OnResult != nil {
		seen.Input, seen.Notice = in.Kind, res.Notice
		if len(res.Unmatched) > 0 {
			seen.Unmatched, seen.Person = res.Unmatched, user
		}
		if res.Session != nil {
			seen.To = content.Ref{Flow: res.Session.Flow, Step: res.Session.Step}
			if res.Session.Lang != "" {
				seen.Lang = res.Session.Lang
			}
		}
		r.OnResult(seen)
	}
	return res.Messages, nil
}

// keep stores the session the input left (next), or erases the person's
// data when it left none.
func (r *Runner) keep(ctx context.Context, user string, sess *Session, next *engine.Session) error {
	if next == nil {
		if sess != nil {
			sess.unstage()
		}
		if err := r.sessions.Delete(ctx, user); err != nil {
			return fmt.Errorf("handle input: erase: %w", err)
		}
		return nil
	}
	out, err := engine.EncodeSession(next)
	if err != nil {
		return err
	}
	if sess != nil {
		sess.Stage(out)
		return nil
	}
	if err := r.sessions.Save(ctx, user, out); err != nil {
		return fmt.Errorf("handle input: %w", err)
	}
	return nil
}

// run decodes the session, asks the engine and applies the effects. Effects
// come first: a referral must be stored before the person is told its code.
// newCode asks for a fresh referral code after ErrCodeTaken. seen gets the
// person's place and language before the input (the engine changes the
// session in place).
func (r *Runner) run(ctx context.Context, c *content.Content, user string, blob []byte, in engine.Input, newCode bool, seen *Outcome) (engine.Result, error) {
	var sess *engine.Session
	if blob != nil {
		var derr error
		if sess, derr = engine.DecodeSession(blob); derr != nil {
			r.log.Warn("session unreadable, starting over", "err", derr)
			sess = nil
			in.Status = ""
			if err := r.fillSubs(ctx, user, nil, &in); err != nil {
				return engine.Result{}, err
			}
			res := r.engine.Recover(c, in)
			return res, r.applyAll(ctx, user, res)
		}
	}
	if sess != nil {
		seen.From, seen.Lang = content.Ref{Flow: sess.Flow, Step: sess.Step}, sess.Lang
	}
	if newCode && sess != nil && sess.Ref != nil {
		sess.Ref.Code = ""
	}
	if code, ok := engine.StatusQuery(sess, in); ok && r.Statuses != nil {
		st, err := r.Statuses.ReferralStatus(ctx, user, code)
		if err != nil {
			return engine.Result{}, fmt.Errorf("handle input: status: %w", err)
		}
		in.Status = st
	}
	if in.ReplyTo != 0 && in.Case == "" && r.Cases != nil && answers(in.Kind) {
		code, service, err := r.Cases.ReplyCase(ctx, user, in.ReplyTo)
		if err != nil {
			return engine.Result{}, fmt.Errorf("handle input: reply: %w", err)
		}
		in.Case, in.CaseService = code, service
	}
	if err := r.fillSubs(ctx, user, sess, &in); err != nil {
		return engine.Result{}, err
	}
	res := r.engine.Handle(c, sess, in)
	return res, r.applyAll(ctx, user, res)
}

// fillSubs gives the engine the topics the person follows when their
// session cannot know them or they ask about subscriptions.
func (r *Runner) fillSubs(ctx context.Context, user string, sess *engine.Session, in *engine.Input) error {
	if r.Subscriptions == nil {
		return nil
	}
	if sess != nil && !(in.Kind == engine.InCommand &&
		(in.Command == "start" || in.Command == "subscribe" || in.Command == "unsubscribe")) {
		return nil
	}
	topics, err := r.Subscriptions.Subscribed(ctx, user)
	if err != nil {
		return fmt.Errorf("handle input: subscriptions: %w", err)
	}
	in.Subs = &topics
	return nil
}

// answers reports whether an input can answer a staff message (what the
// person writes or sends, not buttons, commands or events).
func answers(k engine.InputKind) bool {
	return k == engine.InText || k == engine.InMedia || k == engine.InLocation || k == engine.InContact
}

func (r *Runner) applyAll(ctx context.Context, user string, res engine.Result) error {
	lang := content.DefaultLanguage
	if res.Session != nil && res.Session.Lang != "" {
		lang = res.Session.Lang
	}
	for _, fx := range res.Effects {
		if err := r.apply(ctx, user, lang, fx); err != nil {
			return fmt.Errorf("handle input: apply %s: %w", fx.Kind, err)
		}
	}
	return nil
}

func (r *Runner) apply(ctx context.Context, user, lang string, fx engine.Effect) error {
	if r.effects != nil {
		return r.effects.Apply(ctx, user, lang, fx)
	}
	switch fx.Kind {
	case engine.EffectSetLanguage, engine.EffectErase, engine.EffectEmergency, engine.EffectHandoffEnd,
		engine.EffectUnsubscribe:
		return nil // the session already records these; nobody else needs to know
	}
	return fmt.Errorf("%s: %w", fx.Kind, ErrNoHandler)
}

// Outcome describes one handled input for anonymous usage statistics: the
// kind of input, the language, and where the person stood before and after.
// It carries nothing that identifies the person or repeats what they wrote.
type Outcome struct {
	Input engine.InputKind
	// Lang is the person's language after the input (before it, when the
	// input erased their data); "" while none is chosen.
	Lang string
	// From is the step the person stood on before the input (zero for a new
	// person or an unreadable session); To the step after it (zero when no
	// flow has started or their data was erased).
	From, To content.Ref
	// Notice is the engine's label of what happened (engine.Result.Notice).
	Notice string
	// Unmatched are the single words of a typed message nobody understood
	// (engine.Result.Unmatched), and Person the person's key, set only with
	// them: the statistics count how many different people typed a word
	// (salted hashes in a HyperLogLog) and never store the key itself.
	Unmatched []string
	Person    string
}
