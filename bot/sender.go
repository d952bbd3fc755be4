package bot

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"putokaz/internal/backoff"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
)

// ErrInactive is returned for a send to a chat whose person blocked the bot:
// nothing was sent. They become active again when they write.
var ErrInactive = errors.New("chat is inactive: the person blocked the bot")

// ErrGaveUp: a call failed with server or network errors APIAttempts times
// in a row; the caller decides whether to try again later.
var ErrGaveUp = errors.New("gave up")

// Sender is the one outbound path for every Bot API call of the process
// (replies, callback answers, staff messages, setup calls). It
//   - paces every call addressed to a chat by the lane of its context
//     (lane.go, WithLane): the chat's limiter (private ~1/s, groups
//     ~20/min) for every lane, the global limit (~30/s) for the bulk lanes
//     only (LaneStaff, LaneBulk; LaneBulk gets only what the others left of
//     it), and when several wait, Emergency before Reply before Staff
//     before Bulk;
//   - honours 429 retry_after by waiting and retrying, however often, until
//     the context ends: a rate-limited message is late, never dropped. A
//     429 for a chat whose pacing had left it alone (nothing sent to it
//     lately) is Telegram's global flood limit: every lane waits it out;
//   - retries 5xx and network errors with exponential backoff and full
//     jitter, at most APIAttempts attempts;
//   - on 403 to a private chat marks it inactive and sends nothing more to it
//     until the person writes again (LaneBulk does not look the mark up: it
//     learns of a blocked chat from Telegram's 403 itself);
//   - counts every attempt in putokaz_telegram_api_calls_total.
//
// Safe for concurrent use.
type Sender struct {
	api      *apiClient
	chats    *chatLimiters
	global   *gate
	lanes    [numLanes]laneObs // by priority
	inactive Inactive
	m        *metrics
	log      *slog.Logger
	hash     func(int64) string
	lim      Limits
	// msgs records the IDs of messages sent to private chats outside an
	// update's handling (for the quick exit); nil records nothing.
	msgs messageRecorder
	// username is the bot's (without @): Config.BotUsername, else learnt
	// from getMe when the Server starts.
	username atomic.Pointer[string]

	// What NewSender built for the Server built on it (New).
	cfg   Config
	rdb   redis.UniversalClient // nil without Redis
	keys  keys.Keys
	reg   *prometheus.Registry
	state updateState
}

// NewSender builds the one outbound path of the process, and the per-chat
// state (Redis, or memory when rdb is nil: one replica only, lost on
// restart) that it shares with the Server built on it: blocked-person
// marks and the message IDs kept for the quick exit. Build the Server
// with New; other packages send through the Sender meanwhile. reg nil
// means a fresh registry; log nil means slog.Default().
func NewSender(cfg Config, rdb redis.UniversalClient, k keys.Keys, reg *prometheus.Registry, log *slog.Logger) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("telegram config: %w", err)
	}
	cfg = cfg.withDefaults()
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "telegram")
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	var inactive Inactive
	var state updateState
	if rdb != nil {
		inactive = NewRedisInactive(rdb, k, cfg.Limits.InactiveTTL)
		state = newRedisState(rdb, k, cfg.Limits)
	} else {
		log.Warn("no Redis configured: update deduplication, chat leases and blocked-user marks are kept in memory " +
			"and LOST ON RESTART; run a single replica only")
		inactive = NewMemoryInactive(cfg.Limits.InactiveTTL)
		state = newMemoryState(cfg.Limits, inactive)
	}
	s := newSender(newAPIClient(cfg.APIURL, cfg.Token), cfg.Limits, inactive, m, log, newHasher(cfg.LogSalt).chat)
	s.msgs, s.state, s.cfg, s.rdb, s.keys, s.reg = state, state, cfg, rdb, k, reg
	if cfg.BotUsername != "" {
		name := cfg.BotUsername
		s.username.Store(&name)
	}
	return s, nil
}

// BotUsername is the bot's username (without @) once known from the
// configuration or getMe; "" before that.
func (s *Sender) BotUsername() string {
	if p := s.username.Load(); p != nil {
		return *p
	}
	return ""
}

// messageRecorder is updateState's record.
type messageRecorder interface {
	record(ctx context.Context, chat string, ids []int) error
}

// sendsMessage reports whether a Bot API method creates a message in the
// chat it names (its result carries message_id).
func sendsMessage(method string) bool {
	switch method {
	case "sendMessage", "copyMessage", "forwardMessage", "sendPhoto", "sendAudio", "sendDocument", "sendVideo",
		"sendAnimation", "sendVoice", "sendVideoNote", "sendLocation", "sendVenue", "sendContact", "sendSticker",
		"sendPoll", "sendDice":
		return true
	}
	return false
}

// recordSent records a message of a private chat for the quick exit: with
// the update being handled, when it is that chat's, else at once.
func (s *Sender) recordSent(ctx context.Context, chatID int64, id int) {
	if m := marksFrom(ctx); m != nil && m.chatID == chatID {
		m.add(id)
		return
	}
	if s.msgs == nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.msgs.record(rctx, chatKey(chatID), []int{id}); err != nil {
		s.m.redisErrors.WithLabelValues("record_messages").Inc()
		s.log.Warn("could not record a message id for the quick exit", "chat", s.hash(chatID), "err", err)
	}
}

func newSender(api *apiClient, lim Limits, inactive Inactive, m *metrics, log *slog.Logger, hash func(int64) string) *Sender {
	s := &Sender{
		api:      api,
		chats:    newChatLimiters(lim),
		global:   newGlobalGate(lim.GlobalPerSecond, lim.GlobalBurst),
		inactive: inactive,
		m:        m,
		log:      log,
		hash:     hash,
		lim:      lim,
	}
	for _, l := range Lanes {
		name := l.String()
		s.lanes[l.priority()] = laneObs{sends: m.laneSends.WithLabelValues(name), waits: m.laneWaits.WithLabelValues(name),
			wait: m.laneWait.WithLabelValues(name), waiting: m.laneWaiting.WithLabelValues(name)}
	}
	return s
}

// laneObs are a lane's metrics, looked up once.
type laneObs struct {
	sends, waits prometheus.Counter
	wait         prometheus.Observer
	waiting      prometheus.Gauge
}

// pace waits until a message of lane may go to chatID: the chat's gate
// (unless chatToken: the attempt reuses the token of one Telegram refused
// as a whole), then the global one. fresh reports that the chat's bucket
// was full (with chatToken: that it was for the refused attempt).
func (s *Sender) pace(ctx context.Context, method string, chatID int64, lane Lane, chatToken, wasFresh bool) (fresh bool, err error) {
	o := &s.lanes[lane.priority()]
	start := time.Now()
	o.waiting.Inc()
	defer o.waiting.Dec()
	fresh = wasFresh
	if !chatToken {
		fresh, err = s.chats.wait(ctx, chatID, lane)
		if err != nil {
			return false, fmt.Errorf("telegram %s: wait for chat rate limit: %w", method, err)
		}
	}
	if _, err := s.global.wait(ctx, lane); err != nil {
		return false, fmt.Errorf("telegram %s: wait for global rate limit: %w", method, err)
	}
	o.sends.Inc()
	if d := time.Since(start); d >= time.Millisecond {
		o.waits.Inc()
		o.wait.Observe(d.Seconds())
	}
	return fresh, nil
}

// activeChatKey marks a context in which a chat is known to be active (its
// person just wrote), so sends skip the inactive lookup.
type activeChatKey struct{}

func withActiveChat(ctx context.Context, chatID int64) context.Context {
	return context.WithValue(ctx, activeChatKey{}, chatID)
}

// Call performs the Bot API method with params (a JSON-encodable struct or
// map) and decodes the result into result (may be nil). chatID is the chat the
// call sends to, for rate limiting and blocked-bot handling; use 0 for calls
// that send no message (getMe, answerCallbackQuery, setWebhook, ...).
//
// Errors: *APIError (errors.As) for API answers, which also match the
// go-telegram/bot values (errors.As(err, &*bot.TooManyRequestsError),
// errors.Is(err, bot.ErrorForbidden)); *NetError for transport failures;
// ErrInactive; the context's error.
func (s *Sender) Call(ctx context.Context, method string, chatID int64, params, result any) error {
	return s.call(ctx, method, chatID, params, result, nil)
}

// Paced is a send's turn at chatID, taken by Pace: the chat's pacing and
// the global gate have let it go.
type Paced struct {
	chatID int64
	fresh  bool
}

// Pace waits until a message of ctx's lane may go to chatID (the chat's
// pacing, the global gate), without sending it: CallPaced sends it. A caller
// that must record something right before the request goes out (the urgent
// updates mark a recipient "sending") does it between the two, so that a
// message waiting for its turn is not yet counted as maybe sent.
func (s *Sender) Pace(ctx context.Context, chatID int64) (Paced, error) {
	fresh, err := s.pace(ctx, "pace", chatID, LaneOf(ctx), false, false)
	if err != nil {
		return Paced{}, err
	}
	return Paced{chatID: chatID, fresh: fresh}, nil
}

// CallPaced is Call for a send whose turn Pace took: its first attempt
// does not wait again (a retry after a 429 or a failure does).
func (s *Sender) CallPaced(ctx context.Context, p Paced, method string, params, result any) error {
	return s.call(ctx, method, p.chatID, params, result, &p)
}

func (s *Sender) call(ctx context.Context, method string, chatID int64, params, result any, paced *Paced) error {
	lane := LaneOf(ctx)
	// The bulk lane does not look the chat up first: a person who blocked
	// the bot is rare among subscribers, Telegram's 403 says so (and marks
	// the chat below), and a Redis round trip per update is load the
	// conversations feel at 1000 updates a second.
	if chatID > 0 && lane != LaneBulk && ctx.Value(activeChatKey{}) != chatID {
		inactive, err := s.inactive.IsInactive(ctx, chatID)
		if err != nil {
			// Fail open: trying to send is better than silently dropping.
			s.m.redisErrors.WithLabelValues("inactive_check").Inc()
			s.log.Warn("inactive check failed; sending anyway", "chat", s.hash(chatID), "err", err)
		} else if inactive {
			s.m.apiCalls.WithLabelValues(method, resInactive).Inc()
			return ErrInactive
		}
	}
	// A message in a private chat has its ID recorded for the quick exit:
	// read from the result when the caller wants none or a sentMessage (the
	// callers here), and from the parameters of an edit.
	var sent *sentMessage
	if chatID > 0 {
		if sendsMessage(method) {
			switch r := result.(type) {
			case nil:
				sent = &sentMessage{}
				result = sent
			case *sentMessage:
				sent = r
			}
		} else if p, ok := params.(*outParams); ok && p.MessageID != 0 && strings.HasPrefix(method, "edit") {
			sent = &sentMessage{MessageID: p.MessageID}
		}
	}
	failures := 0
	fresh, chatToken := false, false
	if paced != nil {
		fresh = paced.fresh
	}
	for {
		if chatID != 0 && paced == nil {
			var err error
			if fresh, err = s.pace(ctx, method, chatID, lane, chatToken, fresh); err != nil {
				return err
			}
			chatToken = false
		}
		paced = nil // a retry waits its turn again
		err := s.attempt(ctx, method, params, result)
		res := callResult(ctx, err)
		s.m.apiCalls.WithLabelValues(method, res).Inc()
		switch res {
		case resOK:
			if sent != nil && sent.MessageID != 0 {
				s.recordSent(ctx, chatID, sent.MessageID)
			}
			return nil
		case resCanceled:
			return fmt.Errorf("telegram %s: %w", method, context.Cause(ctx))
		case resRetryAfter:
			var ae *APIError
			errors.As(err, &ae)
			wait := time.Duration(max(ae.RetryAfter, 1)) * time.Second
			// A private chat whose bucket was full was not being paced:
			// the 429 is about all our sends, not that chat's.
			global := chatID > 0 && fresh
			s.log.Warn("telegram rate limit: waiting retry_after", "method", method, "chat", s.hash(chatID),
				"retry_after_s", wait.Seconds(), "lane", lane.String(), "global", global)
			if global {
				s.m.globalBlocks.Inc()
				s.global.block(time.Now().Add(wait))
				// Every lane waits at the global gate. Nothing reached the
				// chat: the retry keeps this attempt's chat token.
				chatToken = true
				continue
			}
			if chatID != 0 {
				s.chats.block(chatID, time.Now().Add(wait))
				continue // wait() sleeps until the block ends
			}
			if serr := backoff.Wait(ctx, wait); serr != nil {
				return fmt.Errorf("telegram %s: %w (while waiting retry_after after: %w)", method, serr, ae)
			}
		case resServerError, resNetworkError:
			failures++
			if failures >= s.lim.APIAttempts {
				s.m.apiCalls.WithLabelValues(method, resGaveUp).Inc()
				return fmt.Errorf("telegram %s: %w after %d attempts: %w", method, ErrGaveUp, failures, err)
			}
			if serr := backoff.Wait(ctx, s.backoff(failures)); serr != nil {
				return fmt.Errorf("telegram %s: %w (while backing off after: %w)", method, serr, err)
			}
		case resForbidden:
			if chatID > 0 {
				s.m.inactiveMarked.Inc()
				if ierr := s.inactive.SetInactive(context.WithoutCancel(ctx), chatID); ierr != nil {
					s.m.redisErrors.WithLabelValues("inactive_set").Inc()
					s.log.Error("could not mark chat inactive", "chat", s.hash(chatID), "err", ierr)
				}
				s.log.Info("person blocked the bot; chat marked inactive", "chat", s.hash(chatID))
			}
			return err
		default:
			return err
		}
	}
}

// attempt is one HTTP request, bounded by CallTimeout (getUpdates also by
// its long-poll timeout), timed in putokaz_telegram_api_call_seconds.
func (s *Sender) attempt(ctx context.Context, method string, params, result any) error {
	timeout := s.lim.CallTimeout
	if method == "getUpdates" {
		timeout += s.lim.PollTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := s.api.call(actx, method, params, result)
	s.m.apiSeconds.WithLabelValues(method).Observe(time.Since(start).Seconds())
	return err
}

// callOnce is a single attempt without limiter or retries (readiness probes).
func (s *Sender) callOnce(ctx context.Context, method string, params, result any) error {
	err := s.attempt(ctx, method, params, result)
	s.m.apiCalls.WithLabelValues(method, callResult(ctx, err)).Inc()
	return err
}

// backoff is the pause after the n-th failure: full jitter over an
// exponentially growing window, capped at BackoffMax.
func (s *Sender) backoff(n int) time.Duration {
	window := backoff.Window(s.lim.BackoffBase, s.lim.BackoffMax, n)
	return time.Duration(rand.Int64N(int64(window)) + 1)
}

// Send shows engine messages in a chat, one after another, rendered as
// replies are (see render.go): for staff groups (threadID is the forum topic,
// 0 for none) and for messages to a person outside an update (staff replies
// relayed during a handoff). It returns ErrInactive if the person blocked
// the bot.
func (s *Sender) Send(ctx context.Context, chatID int64, threadID int, msgs ...engine.Message) error {
	ops, dropped := render(chatID, threadID, msgs, false)
	if dropped > 0 {
		s.m.droppedButtons.Add(float64(dropped))
	}
	_, _, err := s.runOps(ctx, ops, s.log)
	return err
}

// runOps performs the calls of a reply in order. It returns how many
// completed (ops[n:] are left to do; their message IDs for edits are filled
// in), the reply-keyboard effect of the completed ones, and the error that
// stopped it. A message Telegram refuses (400) is not retried forever: an
// HTML parse error is retried once as plain text; otherwise it is skipped and
// logged so the rest of the reply still arrives.
func (s *Sender) runOps(ctx context.Context, ops []op, log *slog.Logger) (n int, kbd kbdEffect, err error) {
	for i := range ops {
		o := &ops[i]
		// Only a message about to be edited needs its ID read back (an
		// edit itself may answer just true).
		var res sentMessage
		var result any
		editNext := i+1 < len(ops) && ops[i+1].EditPrev
		if editNext {
			result = &res
		}
		err := s.Call(ctx, o.Method, o.Params.ChatID, &o.Params, result)
		if err != nil && errors.Is(err, tgbot.ErrorBadRequest) {
			err = s.recoverBadRequest(ctx, o, result, err)
			if err != nil && errors.Is(err, tgbot.ErrorBadRequest) {
				log.Error("Telegram refused a reply; skipped", "method", o.Method, "chat", s.hash(o.Params.ChatID), "err", err)
				err = nil
				res = sentMessage{}
			}
		}
		if err != nil {
			return i, kbd, err
		}
		if o.Kbd != kbdNone {
			kbd = o.Kbd
		}
		if editNext {
			ops[i+1].Params.MessageID = res.MessageID
		}
	}
	return len(ops), kbd, nil
}

// recoverBadRequest tries the one sensible alternative for a refused call.
func (s *Sender) recoverBadRequest(ctx context.Context, o *op, result any, err error) error {
	var ae *APIError
	errors.As(err, &ae)
	switch {
	case o.Method == "editMessageReplyMarkup":
		// The buttons could not be attached by an edit: send the text
		// again with them rather than leave the person without buttons.
		p := outParams{ChatID: o.Params.ChatID, MessageThreadID: o.Params.MessageThreadID, Text: o.Fallback,
			ParseMode: "HTML", LinkPreviewOptions: noPreview, ReplyMarkup: o.Params.ReplyMarkup}
		if p.Text == "" {
			p.Text = emptyTextStub
		}
		return s.Call(ctx, "sendMessage", p.ChatID, &p, result)
	case o.Method == "sendMessage" && o.Params.ParseMode == "HTML" && ae != nil &&
		strings.Contains(strings.ToLower(ae.Description), "parse entities"):
		// Broken HTML in content: better plain text than nothing.
		p := o.Params
		p.ParseMode = ""
		p.Text = plainText(p.Text)
		s.log.Error("reply had invalid HTML; sent as plain text", "chat", s.hash(p.ChatID), "err", err)
		return s.Call(ctx, "sendMessage", p.ChatID, &p, result)
	}
	return err
}

// sentMessage is what a reply needs of the Message Telegram sends back.
type sentMessage struct {
	MessageID int `json:"message_id"`
}

// plainText strips tags and decodes the basic entities of Telegram HTML.
func plainText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		n, v := htmlToken(s[i:])
		switch {
		case v == 0 && n > 1: // a tag
		case n > 1 && s[i] == '&':
			b.WriteString(html.UnescapeString(s[i : i+n]))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
