package referral

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/lease"
)

// Conversation is what the service needs from the conversation core: to show
// the person what staff did (engine.InEvent), resuming their conversation.
type Conversation interface {
	Handle(ctx context.Context, user string, in engine.Input) ([]engine.Message, error)
}

// PersonLock serialises an event for a person with their own updates, across
// replicas (see telegramstaff.Lock). unlock must be called.
type PersonLock func(ctx context.Context, user string) (unlock func(), err error)

// Options configure a Desk.
type Options struct {
	Config Config
	// Store keeps cases and the outbox: NewRedisStore or NewMemoryStore.
	Store Store
	// Staff shows cases to staff: telegramstaff.New or NewMemoryStaff.
	Staff Staff
	// Content gives staff texts, service names and time zones (may be nil:
	// built-in English, UTC).
	Content ContentSource
	// Registry receives the metrics (nil: not exported).
	Registry prometheus.Registerer
	Log      *slog.Logger
	// LogSalt keys the hash of codes and user IDs in logs (empty: random
	// per process).
	LogSalt string
	// HTTPClient sends webhooks (nil: a client with Config.WebhookTimeout).
	HTTPClient *http.Client
	// Lock, if set, is held while the person's conversation shows a staff
	// event (telegramstaff.Lock).
	Lock PersonLock
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Desk stores cases, delivers them through the outbox and carries out
// staff actions. It implements conversation.EffectHandler and
// conversation.StatusLookup.
type Desk struct {
	cfg      Config
	store    Store
	staff    Staff
	content  ContentSource
	m        *metrics
	log      *slog.Logger
	salt     []byte
	hc       *http.Client
	lock     PersonLock
	now      func() time.Time
	consumer string
	// Test hooks: called with the worker's context before an entry is
	// delivered and before it is acknowledged (a test blocks in them and
	// stops the worker to simulate a crash at that point).
	beforeDeliver func(ctx context.Context, stream string, e entry)
	beforeAck     func(ctx context.Context, stream string, e entry)
	// noRemindLoop: Run does not run the reminder pass (a test runs
	// Remind itself, at the times it sets).
	noRemindLoop bool
}

var (
	_ conversation.EffectHandler = (*Desk)(nil)
	_ conversation.StatusLookup  = (*Desk)(nil)
	_ conversation.CaseLookup    = (*Desk)(nil)
)

// ErrNoQueue: a referral or handoff to a service without a staff queue. The
// input fails (the person is not told about a referral nobody receives); the
// engine's Offline hook (Config.HasQueue) keeps people from getting this far.
var ErrNoQueue = errors.New("no staff queue is configured for this service")

// New builds the desk; Run delivers its outbox.
func New(o Options) (*Desk, error) {
	cfg := o.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("referral config: %w", err)
	}
	if o.Store == nil || o.Staff == nil {
		return nil, errors.New("referral: a store and a staff side are required")
	}
	m, err := newMetrics(o.Registry)
	if err != nil {
		return nil, err
	}
	s := &Desk{cfg: cfg, store: o.Store, staff: o.Staff, content: o.Content, m: m, log: o.Log, hc: o.HTTPClient,
		lock: o.Lock, now: o.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "referral")
	if s.now == nil {
		s.now = time.Now
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: cfg.WebhookTimeout}
	}
	s.salt = []byte(o.LogSalt)
	if len(s.salt) == 0 {
		s.salt = []byte(lease.NewToken())
	}
	host, _ := os.Hostname()
	s.consumer = host + "-" + strconv.Itoa(os.Getpid()) + "-" + lease.NewToken()[:8]
	return s, nil
}

// hash is the pseudonym of a code or user ID in logs.
func (s *Desk) hash(id string) string {
	h := hmac.New(sha256.New, s.salt)
	h.Write([]byte(id))
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func (s *Desk) safetyTTL() time.Duration { return s.cfg.Retention + s.cfg.SafetyMargin }

// ttlFor is the TTL activity gives a case: open ones live the safety TTL
// from now; a closed one keeps Retention from its closing (0: unchanged).
func (s *Desk) ttlFor(c *Case) time.Duration {
	if isOpen(c.Status) {
		return s.safetyTTL()
	}
	return 0
}

// queueKey is the Queues key serving a service.
func (s *Desk) queueKey(service string) string {
	if _, ok := s.cfg.Queues[service]; ok {
		return service
	}
	return AnyService
}

// staffStream is the outbox stream of a staff group, named by the staff side.
func (s *Desk) staffStream(group int64) string { return s.staff.Stream(group) }

func (s *Desk) streams(c *Case) streamNames {
	return streamNames{staff: s.staffStream(c.Group), hook: "hook:" + s.queueKey(c.Service)}
}

func (s *Desk) hasHook(service string) bool {
	q, ok := s.cfg.queue(service)
	return ok && q.WebhookURL != ""
}

// Apply implements conversation.EffectHandler. Every effect is idempotent
// for a repeated input: a stored referral is not stored again, a relayed
// message is not relayed again (per Telegram update), an ended handoff ends
// once.
func (s *Desk) Apply(ctx context.Context, user, lang string, fx engine.Effect) error {
	switch fx.Kind {
	case engine.EffectReferral:
		return s.createReferral(ctx, user, lang, fx)
	case engine.EffectHandoff:
		if fx.Lang != "" {
			lang = fx.Lang
		}
		_, err := s.startHandoff(ctx, user, lang, fx.Service, fx.Code)
		return err
	case engine.EffectRelay:
		return s.relay(ctx, user, lang, fx)
	case engine.EffectEmergency:
		if fx.Service == "" {
			return nil // not talking to staff: the engine shows the numbers
		}
		return s.emergency(ctx, user, fx.Code, fx.Origin)
	case engine.EffectHandoffEnd:
		return s.endHandoff(ctx, user)
	case engine.EffectErase:
		return s.Erase(ctx, user)
	case engine.EffectFeedback:
		if s.cfg.HasQueue(fx.Service) && (fx.Value == "yes" || fx.Value == "no") {
			s.m.feedback.WithLabelValues(fx.Service, fx.Value).Inc()
		}
		return nil
	}
	return nil // language changes and future effects need nothing from us
}

func (s *Desk) createReferral(ctx context.Context, user, lang string, fx engine.Effect) error {
	q, ok := s.cfg.queue(fx.Service)
	if !ok {
		return fmt.Errorf("referral to %q: %w", fx.Service, ErrNoQueue)
	}
	if !validCode(fx.Code) {
		return fmt.Errorf("referral: malformed code %q", fx.Code)
	}
	if fx.Lang != "" {
		lang = fx.Lang
	}
	now := s.now().UTC()
	c := &Case{Code: fx.Code, Kind: KindReferral, User: user, Service: fx.Service, Lang: lang, Status: StatusReceived,
		Created: now, ConsentAt: fx.ConsentAt, ConsentVersion: fx.ConsentVersion, Answers: fx.Vars, Group: q.Group}
	created, err := s.store.create(ctx, c, Entry{At: now, Who: whoPerson, What: actCreated}, s.streams(c),
		q.WebhookURL != "", s.safetyTTL())
	if errors.Is(err, errTaken) {
		return fmt.Errorf("referral: %w", conversation.ErrCodeTaken)
	}
	if err != nil {
		return fmt.Errorf("referral: %w", err)
	}
	if created {
		s.m.created.WithLabelValues(fx.Service, KindReferral).Inc()
		s.log.Info("referral stored", "case", s.hash(c.Code), "service", fx.Service)
	}
	return nil
}

// startHandoff opens a handoff case under code (the engine's, which the
// person is shown; "" draws one: a chat reopened by a message after its
// case was closed, where the person is shown none) unless the person has an
// open one for the service under that code already (the same input handled
// again). It returns the code. A taken code fails with
// conversation.ErrCodeTaken: the conversation handles the input again with
// a fresh one.
func (s *Desk) startHandoff(ctx context.Context, user, lang, service, code string) (string, error) {
	q, ok := s.cfg.queue(service)
	if !ok {
		return "", fmt.Errorf("handoff to %q: %w", service, ErrNoQueue)
	}
	if code != "" && !validCode(code) {
		return "", fmt.Errorf("handoff: malformed code %q", code)
	}
	if live, err := s.store.live(ctx, user); err != nil {
		return "", fmt.Errorf("handoff: %w", err)
	} else if live != "" {
		c, err := s.store.load(ctx, live)
		if err != nil {
			return "", fmt.Errorf("handoff: %w", err)
		}
		if c != nil && isOpen(c.Status) && c.Service == service && (code == "" || code == live) {
			return live, nil
		}
		// A chat with another service (or one the person was shown another
		// code for: an input handled again after a crash, a session that
		// expired) is still open: the person left it.
		if err := s.endHandoff(ctx, user); err != nil {
			return "", err
		}
	}
	now := s.now().UTC()
	for range 8 {
		c := &Case{Code: code, Kind: KindHandoff, User: user, Service: service, Lang: lang, Status: StatusReceived,
			Created: now, Group: q.Group}
		if code == "" {
			c.Code = newCode()
		}
		created, err := s.store.create(ctx, c, Entry{At: now, Who: whoPerson, What: actCreated}, s.streams(c),
			q.WebhookURL != "", s.safetyTTL())
		if errors.Is(err, errTaken) && code != "" {
			return "", fmt.Errorf("handoff: %w", conversation.ErrCodeTaken)
		}
		if errors.Is(err, errTaken) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("handoff: %w", err)
		}
		if !created && code != "" {
			// The person's own case under this code, but not their live
			// chat (an old, closed one): the code is taken.
			if live, err := s.store.live(ctx, user); err != nil {
				return "", fmt.Errorf("handoff: %w", err)
			} else if live != code {
				return "", fmt.Errorf("handoff: %w", conversation.ErrCodeTaken)
			}
		}
		if created {
			s.m.created.WithLabelValues(service, KindHandoff).Inc()
			s.log.Info("handoff stored", "case", s.hash(c.Code), "service", service)
		}
		return c.Code, nil
	}
	return "", errors.New("handoff: no free code after 8 attempts")
}

// relayPayload is the personal part of an evRelay event.
type relayPayload struct {
	// Kind: "text", "edited", or the media kind ("photo", "location", ...).
	Kind string `json:"k"`
	Text string `json:"t,omitempty"`
	Copy *Copy  `json:"c,omitempty"`
}

// HookMessage is the personal part of a webhook "message" event.
type HookMessage struct {
	// Direction: "from_person" or "to_person".
	Direction string `json:"direction"`
	Kind      string `json:"kind"`
	// Text is the text of a text message (not of media captions,
	// locations or contacts).
	Text string `json:"text,omitempty"`
}

func (h HookMessage) json() string {
	b, _ := json.Marshal(h)
	return string(b)
}

// source is the person's message an effect came from (to copy it to staff)
// and a token unique to its delivery (to act on it once), where the
// transport named them (engine.Origin).
func source(o engine.Origin) (*Copy, string) {
	var cp *Copy
	if o.Chat != 0 {
		cp = &Copy{FromChat: o.Chat, MessageID: o.Message}
	}
	if o.Delivery == "" {
		return cp, ""
	}
	return cp, "u" + o.Delivery
}

func (s *Desk) relay(ctx context.Context, user, lang string, fx engine.Effect) error {
	if fx.Input == nil {
		return nil
	}
	if fx.Code != "" {
		// A referral's conversation: only to the person's own case.
		c, err := s.store.load(ctx, fx.Code)
		if err != nil {
			return fmt.Errorf("relay: %w", err)
		}
		if c == nil || c.User != user {
			return nil // expired or withdrawn: nobody to read it
		}
		return s.relayTo(ctx, user, c, fx)
	}
	code, err := s.store.live(ctx, user)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	if code == "" {
		// The session says "talking to staff" but no case is open (it was
		// closed while the person wrote, or the close notice did not reach
		// them): open a new one rather than drop what they wrote.
		if fx.Service == "" {
			return nil
		}
		if code, err = s.startHandoff(ctx, user, lang, fx.Service, ""); err != nil {
			return fmt.Errorf("relay: %w", err)
		}
	}
	c, err := s.store.load(ctx, code)
	if err == nil && c == nil && fx.Service != "" {
		// The case expired under a live handoff: open a new one.
		if code, err = s.startHandoff(ctx, user, lang, fx.Service, ""); err == nil {
			c, err = s.store.load(ctx, code)
		}
	}
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	if c == nil {
		return nil
	}
	return s.relayTo(ctx, user, c, fx)
}

// relayTo queues what the person sent for the staff of case c.
func (s *Desk) relayTo(ctx context.Context, user string, c *Case, fx engine.Effect) error {
	code, in := c.Code, fx.Input
	cp, token := source(fx.Origin)
	p := relayPayload{Kind: "text", Text: in.Text}
	hm := HookMessage{Direction: "from_person", Kind: "text", Text: in.Text}
	switch in.Kind {
	case engine.InText:
	case engine.InMedia:
		if in.Media == "edited" {
			p.Kind, hm.Kind = "edited", "edited"
			break
		}
		p = relayPayload{Kind: in.Media, Text: in.Text, Copy: cp}
		hm = HookMessage{Direction: "from_person", Kind: in.Media}
	case engine.InLocation:
		p = relayPayload{Kind: "location", Copy: cp}
		hm = HookMessage{Direction: "from_person", Kind: "location"}
	case engine.InContact:
		p = relayPayload{Kind: "contact", Copy: cp}
		hm = HookMessage{Direction: "from_person", Kind: "contact"}
	default:
		return nil // buttons and commands are the bot's, not for staff
	}
	if p.Kind == "text" || p.Kind == "edited" {
		// A text too long for a prefixed message is copied instead.
		p.Copy = cp
	}
	pb, _ := json.Marshal(p)
	now := s.now().UTC()
	// A closed case still takes the message: staff may have closed it
	// while the person was writing (the close notice is on its way to
	// them), and staff reading the closed topic beat the message being lost.
	ch := change{from: relayable, user: user, group: c.Group, thread: c.Thread, ttl: s.ttlFor(c), streams: s.streams(c),
		entry: &Entry{At: now, Who: whoPerson, What: actMessage, Text: in.Text}, event: evRelay, payload: string(pb),
		once: tokenOr(token, "relay"), onceTTL: s.cfg.OnceTTL}
	if s.hasHook(c.Service) {
		ch.hook, ch.hookPayload = evMessage, hm.json()
	}
	if _, err := s.store.update(ctx, code, ch); err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	return nil
}

// tokenOr prefixes an update token with what it guards ("" stays "": no
// deduplication outside Telegram).
func tokenOr(token, what string) string {
	if token == "" {
		return ""
	}
	return what + ":" + token
}

// liveCase is the case of the person's chat with staff, nil if none.
func (s *Desk) liveCase(ctx context.Context, user string) (*Case, error) {
	code, err := s.store.live(ctx, user)
	if err != nil || code == "" {
		return nil, err
	}
	return s.store.load(ctx, code)
}

// emergency alerts staff of the case the person is talking to: the
// referral code, else their live handoff.
func (s *Desk) emergency(ctx context.Context, user, code string, origin engine.Origin) error {
	var c *Case
	var err error
	if code != "" {
		if c, err = s.store.load(ctx, code); err == nil && c != nil && c.User != user {
			c = nil
		}
	} else {
		c, err = s.liveCase(ctx, user)
	}
	if err != nil || c == nil {
		return err
	}
	code = c.Code
	_, token := source(origin)
	_, err = s.store.update(ctx, code, change{from: relayable, user: user, group: c.Group, thread: c.Thread,
		ttl: s.ttlFor(c), streams: s.streams(c), entry: &Entry{At: s.now().UTC(), Who: whoPerson, What: actAlert},
		event: evAlert, once: tokenOr(token, "alert"), onceTTL: s.cfg.OnceTTL})
	if err != nil {
		return fmt.Errorf("emergency alert: %w", err)
	}
	s.log.Warn("emergency word during a chat with staff; staff alerted", "case", s.hash(code))
	return nil
}

// endHandoff: the person left the chat. The case stays open for staff to
// close; they are told the person left. Idempotent: the live handoff is
// gone after the first time.
func (s *Desk) endHandoff(ctx context.Context, user string) error {
	c, err := s.liveCase(ctx, user)
	if err != nil || c == nil {
		return err
	}
	_, err = s.store.update(ctx, c.Code, change{user: user, group: c.Group, thread: c.Thread, ttl: s.safetyTTL(),
		streams: s.streams(c), entry: &Entry{At: s.now().UTC(), Who: whoPerson, What: actLeft}, event: evLeft,
		endLive: true, from: open})
	if err != nil {
		return fmt.Errorf("end handoff: %w", err)
	}
	return nil
}

// Erase carries out /delete for the person's cases: each keeps only the
// configured fields (Config.KeepAfterDelete), open ones become withdrawn and
// their staff are told, and the person's index is removed. Idempotent.
func (s *Desk) Erase(ctx context.Context, user string) error {
	codes, err := s.store.codes(ctx, user)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	keepHistory := false
	var keep []string
	for _, k := range s.cfg.KeepAfterDelete {
		if k == "history" {
			keepHistory = true
			continue
		}
		keep = append(keep, k)
	}
	for _, code := range codes {
		c, err := s.store.load(ctx, code)
		if err != nil {
			return fmt.Errorf("erase: %w", err)
		}
		if c == nil {
			continue // expired
		}
		wasOpen, err := s.store.erase(ctx, user, code, eraseArgs{keep: keep, keepHistory: keepHistory,
			retention: s.cfg.Retention, entry: Entry{At: s.now().UTC(), Who: whoPerson, What: actWithdrawn},
			streams: s.streams(c), hook: s.hasHook(c.Service)})
		if err != nil {
			return fmt.Errorf("erase: %w", err)
		}
		if wasOpen {
			s.m.withdrawn.Inc()
			s.log.Info("open case withdrawn by the person", "case", s.hash(code))
		}
	}
	if err := s.store.forget(ctx, user); err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	return nil
}

// ReferralStatus implements conversation.StatusLookup: the status of the
// person's own case, "" for anyone else's, an unknown code, or a withdrawn
// case.
func (s *Desk) ReferralStatus(ctx context.Context, user, code string) (string, error) {
	if !validCode(code) {
		return "", nil
	}
	c, err := s.store.load(ctx, code)
	if err != nil {
		return "", fmt.Errorf("referral status: %w", err)
	}
	if c == nil || c.User == "" || c.User != user {
		return "", nil
	}
	switch c.Status {
	case StatusReceived, StatusClaimed, StatusClosed:
		return c.Status, nil
	}
	return "", nil
}

// ReplyCase implements conversation.CaseLookup: the person's open referral
// whose staff message (msgID in their private chat) they answered.
func (s *Desk) ReplyCase(ctx context.Context, user string, msgID int) (string, string, error) {
	chat, ok := s.staff.PersonChat(user)
	if !ok || msgID == 0 {
		return "", "", nil
	}
	code, err := s.store.byMessage(ctx, chat, msgID)
	if err != nil || code == "" {
		return "", "", err
	}
	c, err := s.store.load(ctx, code)
	if err != nil {
		return "", "", fmt.Errorf("reply case: %w", err)
	}
	if c == nil || c.User != user || c.Kind != KindReferral || !isOpen(c.Status) {
		return "", "", nil
	}
	return c.Code, c.Service, nil
}

// Case returns a case (nil if none). For staff tools and tests.
func (s *Desk) Case(ctx context.Context, code string) (*Case, error) {
	return s.store.load(ctx, code)
}

// History returns a case's history. For staff tools and tests.
func (s *Desk) History(ctx context.Context, code string) ([]Entry, error) {
	return s.store.history(ctx, code)
}
