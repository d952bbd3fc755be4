package bot

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{Token: "123:abc"}
	if err := ok.Validate(); err != nil {
		t.Errorf("minimal config: %v", err)
	}
	hook := Config{Token: "123:abc", WebhookURL: "https://bot.example.org/tg", WebhookSecret: "A-z_09"}
	if err := hook.Validate(); err != nil {
		t.Errorf("webhook config: %v", err)
	}
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"no token":          {Config{}, "token is empty"},
		"token with space":  {Config{Token: "123:abc "}, "spaces"},
		"token without id":  {Config{Token: "abc"}, "does not look like"},
		"bad api url":       {Config{Token: "1:a", APIURL: "ftp://x"}, "TELEGRAM_API_URL"},
		"webhook no secret": {Config{Token: "1:a", WebhookURL: "https://x.org/h"}, "TELEGRAM_WEBHOOK_SECRET is required"},
		"bad secret chars":  {Config{Token: "1:a", WebhookURL: "https://x.org/h", WebhookSecret: "a b"}, "A-Z, a-z"},
		"secret too long":   {Config{Token: "1:a", WebhookURL: "https://x.org/h", WebhookSecret: strings.Repeat("a", 257)}, "1–256"},
		"relative webhook":  {Config{Token: "1:a", WebhookURL: "/hook", WebhookSecret: "x"}, "TELEGRAM_WEBHOOK_URL"},
		"max connections":   {Config{Token: "1:a", MaxConnections: 101}, "max_connections"},
		"positive staff id": {Config{Token: "1:a", StaffGroups: map[int64]bool{5: true}}, "negative"},
		"negative limit":    {Config{Token: "1:a", Limits: Limits{LeaseWait: -time.Second}}, "negative"},
		"short dedupe":      {Config{Token: "1:a", Limits: Limits{DedupeTTL: time.Hour}}, "24 h"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), strings.Repeat("a", 257)) {
			t.Errorf("%s: secret echoed in error", name)
		}
	}
	// Several problems are reported at once.
	err := Config{WebhookURL: "https://x.org/h"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "token") || !strings.Contains(err.Error(), "SECRET") {
		t.Errorf("joined errors = %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Token: "1:a", BotUsername: "@PutokazBot", APIURL: "http://localhost:8081/"}.withDefaults()
	if c.APIURL != "http://localhost:8081" || c.ListenAddr != ":8080" || c.MaxConnections != 100 || c.BotUsername != "PutokazBot" {
		t.Errorf("defaults = %+v", c)
	}
	if (Config{Token: "1:a"}).withDefaults().APIURL != DefaultAPIURL {
		t.Error("default API URL")
	}
	l := c.Limits
	if l.PrivatePerSecond != 1 || l.PrivateBurst != 3 || l.GroupPerMinute != 20 || l.GlobalPerSecond != 30 ||
		l.APIAttempts != 5 || l.UpdateAttempts != 5 || l.DedupeTTL != 48*time.Hour {
		t.Errorf("limits = %+v", l)
	}
	for url, want := range map[string]string{"https://x.org/tg/hook": "/tg/hook", "https://x.org": "/", "https://x.org/": "/"} {
		if got := (Config{WebhookURL: url}).webhookPath(); got != want {
			t.Errorf("webhookPath(%q) = %q", url, got)
		}
	}
}
