// Package config reads config.yaml and lets the environment override every
// key (secrets never need to be in the file).
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of putokaz. The env tag names the environment
// variable that overrides a key; doc is its one-line description.
type Config struct {
	ContentDir string   `yaml:"content_dir" env:"CONTENT_DIR" doc:"folder with flows/ and locales/; empty: the content built into the binary"`
	ListenAddr string   `yaml:"listen_addr" env:"LISTEN_ADDR" doc:"HTTP address for the webhook, playground, health and metrics"`
	LogLevel   string   `yaml:"log_level" env:"LOG_LEVEL" doc:"debug, info, warn or error"`
	SessionTTL Duration `yaml:"session_ttl" env:"SESSION_TTL" doc:"how long a conversation is kept after the person's last message"`
	Redis      Redis    `yaml:"redis"`
	Telegram   Telegram `yaml:"telegram"`
	Referral   Referral `yaml:"referral"`
	// Organisation names who runs the bot and holds the data, for texts.
	Organisation Organisation `yaml:"organisation"`
	Console      Console      `yaml:"console"`
	Announce     Announce     `yaml:"announce"`
}

// Organisation names who runs the bot: the texts show it as {{.org}} (the
// consents, the privacy notice, about/data and about/rights) and
// {{.data_contact}} (where to ask about data).
type Organisation struct {
	Name        string `yaml:"name" env:"ORGANISATION_NAME" doc:"the organisation that runs the bot and holds the data, as texts name it ({{.org}}); empty: the texts say \"a humanitarian organisation\""`
	Names       Names  `yaml:"names" env:"ORGANISATION_NAMES" doc:"the name in other languages, by language tag: {sr-Cyrl: …, ar: …, fa: …} (Serbian Latin is made from sr-Cyrl); languages without one use name; YAML or JSON in the environment"`
	DataContact string `yaml:"data_contact" env:"ORGANISATION_DATA_CONTACT" doc:"where people ask about their data: an e-mail address or a web page ({{.data_contact}}); empty: the texts point to a chat with staff"`
}

// Names maps a language tag to a name in that language.
type Names map[string]string

// Redis settings.
type Redis struct {
	URL       string `yaml:"url" env:"REDIS_URL" doc:"redis://, rediss://, redis://h1,h2 (cluster) or redis+sentinel://h1,h2/master; empty: in-memory store (state lost on restart)"`
	KeyPrefix string `yaml:"key_prefix" env:"REDIS_KEY_PREFIX" doc:"prefix of every key, so several bots can share one Redis"`
}

// Telegram settings.
type Telegram struct {
	Token         string  `yaml:"token" env:"TELEGRAM_TOKEN" doc:"bot token from @BotFather; empty: the local playground"`
	APIURL        string  `yaml:"api_url" env:"TELEGRAM_API_URL" doc:"Bot API base URL"`
	WebhookURL    string  `yaml:"webhook_url" env:"TELEGRAM_WEBHOOK_URL" doc:"public HTTPS URL of the webhook; empty: long polling"`
	WebhookSecret string  `yaml:"webhook_secret" env:"TELEGRAM_WEBHOOK_SECRET" doc:"secret Telegram sends with every webhook call (1-256 of A-Z a-z 0-9 _ -); required with webhook_url"`
	StaffGroups   []int64 `yaml:"staff_groups" env:"TELEGRAM_STAFF_GROUPS" doc:"IDs of staff supergroups (comma-separated in the environment)"`
	RateLimits    string  `yaml:"rate_limits" env:"TELEGRAM_RATE_LIMITS" doc:"telegram: send at most about 1 message/s per chat, 20/min per group, and staff messages and announcements at most 30/s overall (answers to people who wrote are held only by Telegram's 429s); off: no limits of our own (429 answers are still waited out) — for load tests and test servers"`
}

// Referral settings: staff queues, retention and delivery of referrals
// (package referral).
type Referral struct {
	Queues          Queues   `yaml:"queues" env:"REFERRAL_QUEUES" doc:"staff queue per service of flows/directory.yaml: {avr: {group: -100…, topic: 0, languages: [ar, fa], webhook_url: https://…}}; \"*\" serves services without their own; YAML or JSON in the environment"`
	Retention       Duration `yaml:"retention" env:"REFERRAL_RETENTION" doc:"how long a case is kept after it is closed or withdrawn (open cases: this plus 30 days after their last activity)"`
	KeepAfterDelete []string `yaml:"keep_after_delete" env:"REFERRAL_KEEP_AFTER_DELETE" doc:"what a case keeps after the person's /delete (comma-separated): code, service, created, status, kind, lang, consent_at, consent_version, claimed_at, claimed_by, closed_at, closed_by, history"`
	Attempts        int      `yaml:"attempts" env:"REFERRAL_ATTEMPTS" doc:"failed deliveries of one message to staff before it goes to the dead-letter stream (with an error log and metric)"`
	WebhookAttempts int      `yaml:"webhook_attempts" env:"REFERRAL_WEBHOOK_ATTEMPTS" doc:"failed deliveries of one webhook event before it goes to the dead-letter stream"`
	MinIdle         Duration `yaml:"min_idle" env:"REFERRAL_MIN_IDLE" doc:"how long an undelivered message stays with a stopped replica before another takes it over"`
	StaffLanguage   string   `yaml:"staff_language" env:"REFERRAL_STAFF_LANGUAGE" doc:"language of what staff read (case topics, cards, notices, reminders, /help, /waiting): en, sr-Latn or sr-Cyrl"`
}

// Queues maps a service (or "*") to its staff queue.
type Queues map[string]Queue

// Queue is where one service's cases go.
type Queue struct {
	// Group is the staff supergroup's chat ID (negative, -100…).
	Group int64 `yaml:"group"`
	// Topic, if not 0, is one forum topic all the service's cases go to;
	// 0 opens a topic per case.
	Topic int `yaml:"topic"`
	// Languages staff of the queue speak (marked on cards in other languages).
	Languages []string `yaml:"languages"`
	// WebhookURL receives every event of the service's cases, signed.
	WebhookURL string `yaml:"webhook_url"`
	// WebhookSecret signs them; only from the environment
	// (WebhookSecretEnv), never from the file.
	WebhookSecret string `yaml:"-"`
}

// WebhookSecretEnv is the environment variable with the webhook secret of a
// service's queue: PUTOKAZ_WEBHOOK_SECRET_<SERVICE> ("*" is DEFAULT).
func WebhookSecretEnv(service string) string {
	if service == "*" {
		service = "default"
	}
	return "PUTOKAZ_WEBHOOK_SECRET_" + strings.ToUpper(service)
}

// Default is the configuration without a file or environment.
func Default() Config {
	return Config{
		ListenAddr: ":8080",
		LogLevel:   "info",
		SessionTTL: Duration(30 * 24 * time.Hour),
		Redis:      Redis{KeyPrefix: "putokaz:"},
		Telegram:   Telegram{APIURL: "https://api.telegram.org", RateLimits: "telegram"},
		Referral: Referral{Retention: Duration(2160 * time.Hour), KeepAfterDelete: []string{"code", "service", "created", "status"},
			Attempts: 10, WebhookAttempts: 12, MinIdle: Duration(time.Minute), StaffLanguage: "en"},
		Console:  defaultConsole(),
		Announce: Announce{Approvals: 2, Rate: 30},
	}
}

// Load reads the file at path (a missing default file is fine), then applies
// the environment.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	explicit := path != ""
	if path == "" {
		path = "config.yaml"
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
			return cfg, fmt.Errorf("read config %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	default:
		return cfg, fmt.Errorf("read config: %w", err)
	}
	if err := applyEnv(reflect.ValueOf(&cfg).Elem(), getenv); err != nil {
		return cfg, err
	}
	// Webhook secrets only ever come from the environment.
	for name, q := range cfg.Referral.Queues {
		q.WebhookSecret = getenv(WebhookSecretEnv(name))
		cfg.Referral.Queues[name] = q
	}
	return cfg, cfg.Validate()
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	if time.Duration(c.SessionTTL) <= 0 {
		return fmt.Errorf("config: session_ttl must be positive")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.Telegram.RateLimits != "telegram" && c.Telegram.RateLimits != "off" {
		return fmt.Errorf("config: telegram.rate_limits must be telegram or off, not %q", c.Telegram.RateLimits)
	}
	switch c.Referral.StaffLanguage {
	case "en", "sr-Latn", "sr-Cyrl":
	default:
		return fmt.Errorf("config: referral.staff_language must be en, sr-Latn or sr-Cyrl, not %q", c.Referral.StaffLanguage)
	}
	if time.Duration(c.Referral.Retention) <= 0 {
		return fmt.Errorf("config: referral.retention must be positive")
	}
	if err := c.Announce.validate(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Referral.Queues)) {
		if q := c.Referral.Queues[name]; q.WebhookURL != "" && q.WebhookSecret == "" {
			return fmt.Errorf("config: referral.queues.%s has a webhook_url but no secret: set %s in the environment",
				name, WebhookSecretEnv(name))
		}
	}
	return c.Console.validate()
}

// Setting describes one key, for the configuration reference.
type Setting struct {
	Key, Env, Doc, Default string
}

// Settings lists every key with its variable, description and default.
func Settings() []Setting {
	var out []Setting
	walk(reflect.ValueOf(Default()), "", func(key string, f reflect.StructField, v reflect.Value) {
		out = append(out, Setting{Key: key, Env: f.Tag.Get("env"), Doc: f.Tag.Get("doc"), Default: format(v)})
	})
	return out
}

func walk(v reflect.Value, prefix string, fn func(string, reflect.StructField, reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := prefix + f.Tag.Get("yaml")
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration(0)) {
			walk(v.Field(i), key+".", fn)
			continue
		}
		fn(key, f, v.Field(i))
	}
}

func format(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case Duration:
		return time.Duration(x).String()
	case []int64:
		s := make([]string, len(x))
		for i, n := range x {
			s[i] = strconv.FormatInt(n, 10)
		}
		return strings.Join(s, ",")
	case []string:
		return strings.Join(x, ",")
	case Queues:
		if len(x) == 0 {
			return ""
		}
		return strings.Join(slices.Sorted(maps.Keys(x)), ",")
	case Names:
		if len(x) == 0 {
			return ""
		}
		return strings.Join(slices.Sorted(maps.Keys(x)), ",")
	}
	return fmt.Sprint(v.Interface())
}

func applyEnv(v reflect.Value, getenv func(string) string) error {
	var firstErr error
	walk(v, "", func(key string, f reflect.StructField, fv reflect.Value) {
		name := f.Tag.Get("env")
		val := getenv(name)
		if name == "" || val == "" || firstErr != nil {
			return
		}
		if err := set(fv, val); err != nil {
			firstErr = fmt.Errorf("config: %s=%q: %w", name, val, err)
		}
	})
	return firstErr
}

func set(v reflect.Value, s string) error {
	switch v.Addr().Interface().(type) {
	case *Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(Duration(d)))
	case *string:
		v.SetString(s)
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		v.SetBool(b)
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		v.SetInt(int64(n))
	case *[]string:
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		v.Set(reflect.ValueOf(out))
	case *Queues:
		// YAML flow syntax (JSON is YAML too): {avr: {group: -1001}}.
		var q Queues
		dec := yaml.NewDecoder(strings.NewReader(s))
		dec.KnownFields(true)
		if err := dec.Decode(&q); err != nil {
			return fmt.Errorf("queues: %w", err)
		}
		v.Set(reflect.ValueOf(q))
	case *Names:
		var n Names
		dec := yaml.NewDecoder(strings.NewReader(s))
		dec.KnownFields(true)
		if err := dec.Decode(&n); err != nil {
			return fmt.Errorf("names: %w", err)
		}
		v.Set(reflect.ValueOf(n))
	case *[]int64:
		var ids []int64
		for _, p := range strings.Split(s, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil {
				return err
			}
			ids = append(ids, n)
		}
		v.Set(reflect.ValueOf(ids))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// Duration is a time.Duration written as "720h" or "30m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads "90m", "720h", ...
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	x, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (examples: 30m, 720h)", n.Line, n.Value)
	}
	*d = Duration(x)
	return nil
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }
