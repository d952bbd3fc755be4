package config

import (
	"fmt"
	"net"
	"net/url"
	"time"
)

// Console settings: the supervisors' web console (package console), served
// by `putokaz serve` on its own address when enabled. It signs staff in with
// Telegram Login, verified with the bot token (telegram.token): it needs no
// secret of its own.
type Console struct {
	Enabled         bool     `yaml:"enabled" env:"CONSOLE_ENABLED" doc:"serve the supervisors' web console (needs telegram.token and referral.queues)"`
	ListenAddr      string   `yaml:"listen_addr" env:"CONSOLE_LISTEN_ADDR" doc:"HTTP address of the console, apart from the webhook's (put an HTTPS reverse proxy in front of it)"`
	PublicURL       string   `yaml:"public_url" env:"CONSOLE_PUBLIC_URL" doc:"the console's address as browsers reach it (https://console.example.org or https://example.org/console); its host must be linked to the bot with /setdomain in @BotFather"`
	SessionLifetime Duration `yaml:"session_lifetime" env:"CONSOLE_SESSION_LIFETIME" doc:"how long a sign-in lasts"`
	RecheckEvery    Duration `yaml:"recheck_every" env:"CONSOLE_RECHECK_EVERY" doc:"how often a signed-in staff member's membership of the staff groups is checked again (removed: signed out)"`
	OverdueAfter    Duration `yaml:"overdue_after" env:"CONSOLE_OVERDUE_AFTER" doc:"a case of a service with claim_within: off (directory) is shown as overdue once it waited unclaimed this long; other services use their claim_within"`
	AuditRetention  Duration `yaml:"audit_retention" env:"CONSOLE_AUDIT_RETENTION" doc:"how long the audit log (who viewed or acted on which case, when) is kept"`
	TrustedProxies  []string `yaml:"trusted_proxies" env:"CONSOLE_TRUSTED_PROXIES" doc:"addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed (for the sign-in rate limit); empty: the connection's address"`
	InsecureCookie  bool     `yaml:"insecure_cookie" env:"CONSOLE_INSECURE_COOKIE" doc:"send the session cookie without Secure; only allowed with a public_url of http://localhost or http://127.0.0.1"`
}

func defaultConsole() Console {
	return Console{ListenAddr: "127.0.0.1:8081", SessionLifetime: Duration(12 * time.Hour),
		RecheckEvery: Duration(10 * time.Minute), OverdueAfter: Duration(24 * time.Hour),
		AuditRetention: Duration(365 * 24 * time.Hour)}
}

// validate reports console settings that cannot work (only when enabled).
func (c Console) validate() error {
	if !c.Enabled {
		return nil
	}
	if c.ListenAddr == "" {
		return fmt.Errorf("config: console.listen_addr is required when the console is enabled")
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("config: console.public_url must be the console's address, like https://console.example.org, not %q", c.PublicURL)
	}
	local := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"
	if u.Scheme == "http" && !local {
		return fmt.Errorf("config: console.public_url must be https:// (http:// only for localhost): sign-in cookies must not travel in clear")
	}
	if c.InsecureCookie && !(u.Scheme == "http" && local) {
		return fmt.Errorf("config: console.insecure_cookie is only allowed with a public_url of http://localhost")
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"session_lifetime", c.SessionLifetime}, {"recheck_every", c.RecheckEvery}, {"overdue_after", c.OverdueAfter},
		{"audit_retention", c.AuditRetention}} {
		if time.Duration(d.v) <= 0 {
			return fmt.Errorf("config: console.%s must be positive", d.name)
		}
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return fmt.Errorf("config: console.trusted_proxies: %q is not an address or CIDR", p)
		}
	}
	return nil
}
