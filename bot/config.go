package bot

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DefaultAPIURL is the public Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// DefaultMaxConnections is the webhook's max_connections unless configured:
// Telegram's maximum (see Config.MaxConnections).
const DefaultMaxConnections = 100

// Config is everything the transport needs. main builds it from config.yaml
// and the environment; zero values mean the documented defaults.
type Config struct {
	// Token is the bot token from @BotFather (TELEGRAM_TOKEN). Required.
	Token string
	// APIURL is the Bot API base URL (TELEGRAM_API_URL), default
	// https://api.telegram.org; tests and self-hosted Bot API servers set it.
	APIURL string
	// WebhookURL switches to webhook mode (TELEGRAM_WEBHOOK_URL): the bot
	// registers it with setWebhook and serves the webhook on its path. Empty
	// means long polling.
	WebhookURL string
	// WebhookSecret is the secret_token Telegram sends back in
	// X-Telegram-Bot-Api-Secret-Token (TELEGRAM_WEBHOOK_SECRET): required
	// with WebhookURL, 1–256 characters of A-Za-z0-9_-.
	WebhookSecret string
	// ListenAddr is where the webhook, /healthz, /readyz and /metrics are
	// served (LISTEN_ADDR), default ":8080".
	ListenAddr string
	// StaffGroups are the (negative) chat IDs of staff groups. Updates from
	// them go to the StaffHandler; every other group or channel is ignored.
	StaffGroups map[int64]bool
	// MaxConnections is setWebhook's max_connections (1–100, default 100,
	// Telegram's maximum). Our webhook answers only after the update is
	// handled, so a connection is busy for the whole handling: Telegram's
	// own default of 40 would cap throughput at 40 updates per handling
	// time and queue the rest at Telegram.
	MaxConnections int
	// BotUsername (without @) is used to ignore "/cmd@OtherBot". When empty
	// it is learnt from getMe at start.
	BotUsername string
	// LogSalt keys the HMAC that hashes chat IDs in logs. Set the same value
	// on every replica to correlate logs; empty means random per process.
	LogSalt string
	// Limits tunes rate limits, retries and timeouts; zero fields take
	// defaults (see Limits).
	Limits Limits
}

// Limits are the tunables of the transport. Zero means the default given in
// brackets.
type Limits struct {
	// PrivatePerSecond and PrivateBurst limit messages to one private chat
	// [1/s, burst 3]: Telegram allows about one per second.
	PrivatePerSecond float64
	PrivateBurst     int
	// GroupPerMinute and GroupBurst limit messages to one group, shared by
	// its forum topics [20/min, burst 3].
	GroupPerMinute float64
	GroupBurst     int
	// GlobalPerSecond and GlobalBurst limit the bulk lanes together
	// (LaneStaff, then LaneBulk with only what the last second's sends of
	// every lane left) [30/s, 30]: Telegram's ceiling on notifications to
	// many people. Replies and emergency answers are not held to it (see
	// Lane).
	GlobalPerSecond float64
	GlobalBurst     int

	// APIAttempts bounds attempts of one Bot API call on 5xx and network
	// errors [5]. 429 answers are waited out (retry_after) and not counted:
	// a rate-limited message is delayed, never dropped.
	APIAttempts int
	// BackoffBase and BackoffMax shape the exponential backoff with full
	// jitter between those attempts [200ms, 5s].
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// CallTimeout bounds one HTTP attempt [30s] (getUpdates gets
	// PollTimeout on top).
	CallTimeout time.Duration

	// UpdateAttempts is how often one update may fail before it is dropped
	// as poison (answered 200 and logged) [5].
	UpdateAttempts int
	// LeaseTTL is the lifetime of the per-chat lease; it is renewed while
	// an update is handled [15s].
	LeaseTTL time.Duration
	// LeaseWait bounds how long an update waits for its chat's lease before
	// it is answered 503 for Telegram to re-send later [10s].
	LeaseWait time.Duration
	// HandleTimeout bounds the handling of one update, including waiting
	// out retry_after [2m].
	HandleTimeout time.Duration
	// DedupeTTL is how long handled update_ids are remembered; Telegram
	// keeps undelivered updates for 24 h [48h].
	DedupeTTL time.Duration
	// InactiveTTL is how long a person who blocked the bot stays marked
	// inactive if they never write again [30 days].
	InactiveTTL time.Duration
	// KeyboardTTL is how long the "reply keyboard is showing" flag of a chat
	// is kept [7 days].
	KeyboardTTL time.Duration
	// SessionTTL is how long a person's session is kept after their last
	// update [30 days]: with Redis the transport writes it (session.go);
	// the app sets it to session_ttl.
	SessionTTL time.Duration

	// PollTimeout is the long-polling timeout of getUpdates [25s].
	PollTimeout time.Duration
	// ShutdownTimeout bounds the graceful drain on shutdown [20s].
	ShutdownTimeout time.Duration
	// MaxBodyBytes bounds a webhook request body [4 MiB].
	MaxBodyBytes int64
	// ReadyCacheTTL is how long /readyz reuses the Bot API's answer (Redis
	// is asked on every probe, so a short outage is not hidden) [5s].
	ReadyCacheTTL time.Duration
}

func (l Limits) withDefaults() Limits {
	setF := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	setI := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	setF(&l.PrivatePerSecond, 1)
	setI(&l.PrivateBurst, 3)
	setF(&l.GroupPerMinute, 20)
	setI(&l.GroupBurst, 3)
	setF(&l.GlobalPerSecond, 30)
	setI(&l.GlobalBurst, 30)
	setI(&l.APIAttempts, 5)
	setD(&l.BackoffBase, 200*time.Millisecond)
	setD(&l.BackoffMax, 5*time.Second)
	setD(&l.CallTimeout, 30*time.Second)
	setI(&l.UpdateAttempts, 5)
	setD(&l.LeaseTTL, 15*time.Second)
	setD(&l.LeaseWait, 10*time.Second)
	setD(&l.HandleTimeout, 2*time.Minute)
	setD(&l.DedupeTTL, 48*time.Hour)
	setD(&l.InactiveTTL, 30*24*time.Hour)
	setD(&l.KeyboardTTL, 7*24*time.Hour)
	setD(&l.SessionTTL, 30*24*time.Hour)
	setD(&l.PollTimeout, 25*time.Second)
	setD(&l.ShutdownTimeout, 20*time.Second)
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = 4 << 20
	}
	setD(&l.ReadyCacheTTL, 5*time.Second)
	return l
}

func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if c.ListenAddr == "" {
		c.ListenAddr = ":8080"
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	c.BotUsername = strings.TrimPrefix(c.BotUsername, "@")
	c.Limits = c.Limits.withDefaults()
	return c
}

// Validate reports every problem of the configuration at once. Messages
// never contain the token or the secret.
func (c Config) Validate() error {
	var errs []error
	tok := strings.TrimSpace(c.Token)
	switch {
	case tok == "":
		errs = append(errs, errors.New("telegram token is empty (set TELEGRAM_TOKEN)"))
	case tok != c.Token || strings.ContainsAny(c.Token, " /?#\t\n"):
		errs = append(errs, errors.New("telegram token contains spaces or URL characters"))
	case !strings.Contains(c.Token, ":"):
		errs = append(errs, errors.New(`telegram token does not look like "<bot id>:<secret>"`))
	}
	if c.APIURL != "" {
		if err := checkHTTPURL(c.APIURL); err != nil {
			errs = append(errs, fmt.Errorf("TELEGRAM_API_URL: %w", err))
		}
	}
	if c.WebhookURL != "" {
		if err := checkHTTPURL(c.WebhookURL); err != nil {
			errs = append(errs, fmt.Errorf("TELEGRAM_WEBHOOK_URL: %w", err))
		}
		if c.WebhookSecret == "" {
			errs = append(errs, errors.New("TELEGRAM_WEBHOOK_SECRET is required in webhook mode"))
		}
	}
	if c.WebhookSecret != "" && !validSecret(c.WebhookSecret) {
		errs = append(errs, errors.New("TELEGRAM_WEBHOOK_SECRET must be 1–256 characters of A-Z, a-z, 0-9, _ and -"))
	}
	if c.MaxConnections < 0 || c.MaxConnections > 100 {
		errs = append(errs, fmt.Errorf("max_connections %d is outside 1–100", c.MaxConnections))
	}
	for id := range c.StaffGroups {
		if id >= 0 {
			errs = append(errs, fmt.Errorf("staff group id %d: group chat IDs are negative", id))
		}
	}
	l := c.Limits
	if l.PrivatePerSecond < 0 || l.GroupPerMinute < 0 || l.GlobalPerSecond < 0 ||
		l.PrivateBurst < 0 || l.GroupBurst < 0 || l.GlobalBurst < 0 || l.APIAttempts < 0 || l.UpdateAttempts < 0 ||
		l.BackoffBase < 0 || l.BackoffMax < 0 || l.CallTimeout < 0 || l.LeaseTTL < 0 || l.LeaseWait < 0 ||
		l.HandleTimeout < 0 || l.DedupeTTL < 0 || l.InactiveTTL < 0 || l.KeyboardTTL < 0 || l.SessionTTL < 0 || l.PollTimeout < 0 ||
		l.ShutdownTimeout < 0 || l.MaxBodyBytes < 0 || l.ReadyCacheTTL < 0 {
		errs = append(errs, errors.New("limits must not be negative"))
	}
	if l.LeaseTTL != 0 && l.LeaseTTL < 300*time.Millisecond {
		errs = append(errs, errors.New("lease TTL must be at least 300ms (it is renewed at a third of it)"))
	}
	if l.DedupeTTL != 0 && l.DedupeTTL < 25*time.Hour {
		errs = append(errs, errors.New("dedupe TTL must exceed Telegram's 24 h re-delivery window"))
	}
	return errors.Join(errs...)
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	return nil
}

// validSecret checks Telegram's rule for secret_token: 1–256 of A-Za-z0-9_-.
func validSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// webhookPath is the path part of the webhook URL ("/" if none).
func (c Config) webhookPath() string {
	u, err := url.Parse(c.WebhookURL)
	if err != nil || u.Path == "" {
		return "/"
	}
	return u.Path
}
