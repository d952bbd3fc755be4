package config

import (
	"strings"
	"testing"
	"time"
)

func TestConsoleSection(t *testing.T) {
	cfg, err := Load("", env(map[string]string{"CONSOLE_ENABLED": "true", "CONSOLE_PUBLIC_URL": "https://example.org/console",
		"CONSOLE_SESSION_LIFETIME": "8h", "CONSOLE_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Console
	if !c.Enabled || c.PublicURL != "https://example.org/console" || time.Duration(c.SessionLifetime) != 8*time.Hour ||
		time.Duration(c.RecheckEvery) != 10*time.Minute || len(c.TrustedProxies) != 2 || c.ListenAddr != "127.0.0.1:8081" {
		t.Fatalf("console = %+v", c)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CONSOLE_ENABLED": "yes please"}, "CONSOLE_ENABLED"},
		{map[string]string{"CONSOLE_ENABLED": "1"}, "public_url"},
		{map[string]string{"CONSOLE_ENABLED": "1", "CONSOLE_PUBLIC_URL": "http://console.example.org"}, "https://"},
		{map[string]string{"CONSOLE_ENABLED": "1", "CONSOLE_PUBLIC_URL": "https://c.example.org", "CONSOLE_INSECURE_COOKIE": "true"}, "insecure_cookie"},
		{map[string]string{"CONSOLE_ENABLED": "1", "CONSOLE_PUBLIC_URL": "https://c.example.org", "CONSOLE_TRUSTED_PROXIES": "proxy.local"}, "trusted_proxies"},
		{map[string]string{"CONSOLE_ENABLED": "1", "CONSOLE_PUBLIC_URL": "https://c.example.org", "CONSOLE_RECHECK_EVERY": "0s"}, "recheck_every"},
	} {
		if _, err := Load("", env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want one naming %s", tc.env, err, tc.want)
		}
	}
	// Plain http only for localhost, where the cookie may go without Secure.
	if _, err := Load("", env(map[string]string{"CONSOLE_ENABLED": "1", "CONSOLE_PUBLIC_URL": "http://localhost:8081",
		"CONSOLE_INSECURE_COOKIE": "true"})); err != nil {
		t.Fatalf("localhost: %v", err)
	}
	// A disabled console is not checked.
	if _, err := Load("", env(map[string]string{"CONSOLE_PUBLIC_URL": "nonsense"})); err != nil {
		t.Fatalf("disabled: %v", err)
	}
}
