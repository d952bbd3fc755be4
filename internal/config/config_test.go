package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsFileAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("listen_addr: \":9000\"\nsession_ttl: 2h\nredis:\n  key_prefix: \"x:\"\ntelegram:\n  staff_groups: [-100123]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, env(map[string]string{"REDIS_URL": "redis://r:6379/1", "TELEGRAM_TOKEN": "123:abc", "TELEGRAM_STAFF_GROUPS": "-1001, -1002", "SESSION_TTL": "3h"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != ":9000" || cfg.Redis.KeyPrefix != "x:" || cfg.Redis.URL != "redis://r:6379/1" || cfg.Telegram.Token != "123:abc" {
		t.Fatalf("cfg: %+v", cfg)
	}
	if time.Duration(cfg.SessionTTL) != 3*time.Hour { // the environment wins over the file
		t.Fatalf("ttl %v", cfg.SessionTTL)
	}
	if len(cfg.Telegram.StaffGroups) != 2 || cfg.Telegram.StaffGroups[1] != -1002 {
		t.Fatalf("staff groups %v", cfg.Telegram.StaffGroups)
	}
	if cfg.Telegram.APIURL != "https://api.telegram.org" {
		t.Fatalf("default api url lost: %q", cfg.Telegram.APIURL)
	}
}

func TestBadConfigIsExplained(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ file, env, want string }{
		"unknown key":  {"listen_adr: x\n", "", "field listen_adr not found"},
		"bad duration": {"session_ttl: forever\n", "", "not a duration"},
		"bad env":      {"", "SESSION_TTL=soon", "SESSION_TTL"},
		"bad level":    {"log_level: loud\n", "", "log_level"},
		"bad limits":   {"", "TELEGRAM_RATE_LIMITS=fast", "telegram.rate_limits"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
			t.Fatal(err)
		}
		e := map[string]string{}
		if k, v, ok := strings.Cut(tc.env, "="); ok {
			e[k] = v
		}
		if _, err := Load(path, env(e)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), env(nil)); err == nil {
		t.Error("an explicitly named missing file must be an error")
	}
}

func TestSettingsListEveryKeyWithItsVariable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings() {
		if s.Env == "" || s.Doc == "" {
			t.Errorf("%s: every key needs an environment variable and a description", s.Key)
		}
		seen[s.Key] = true
	}
	for _, k := range []string{"listen_addr", "redis.url", "telegram.token", "telegram.webhook_secret", "session_ttl"} {
		if !seen[k] {
			t.Errorf("missing %s", k)
		}
	}
}

// TestOrganisation: the organisation's name per language comes from the file
// or, like every key, from the environment (YAML or JSON there).
func TestOrganisation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("organisation:\n  name: Example Aid\n  names: {sr-Cyrl: Пример помоћ}\n  data_contact: privacy@example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.Organisation; o.Name != "Example Aid" || o.Names["sr-Cyrl"] != "Пример помоћ" || o.DataContact != "privacy@example.org" {
		t.Fatalf("organisation from the file: %+v", o)
	}
	cfg, err = Load(path, env(map[string]string{"ORGANISATION_NAMES": `{"ar": "مثال", "fa": "نمونه"}`, "ORGANISATION_DATA_CONTACT": "https://example.org/data"}))
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.Organisation; o.Names["ar"] != "مثال" || o.Names["sr-Cyrl"] != "" || o.DataContact != "https://example.org/data" || o.Name != "Example Aid" {
		t.Fatalf("organisation from the environment: %+v", o)
	}
	if _, err := Load(path, env(map[string]string{"ORGANISATION_NAMES": "[not, a, map]"})); err == nil || !strings.Contains(err.Error(), "ORGANISATION_NAMES") {
		t.Errorf("a list for names: err = %v", err)
	}
}

func TestAnnounceSettings(t *testing.T) {
	cfg, err := Load("", func(k string) string {
		return map[string]string{"ANNOUNCE_APPROVALS": "1", "ANNOUNCE_RATE": "1000"}[k]
	})
	if err != nil || cfg.Announce.Approvals != 1 || cfg.Announce.Rate != 1000 {
		t.Fatalf("Load = %+v, %v", cfg.Announce, err)
	}
	if d := Default().Announce; d.Approvals != 2 || d.Rate != 30 {
		t.Fatalf("default %+v; want the two-person rule at 30/s", d)
	}
	for _, env := range []map[string]string{{"ANNOUNCE_APPROVALS": "0"}, {"ANNOUNCE_RATE": "1001"}, {"ANNOUNCE_RATE": "0"}} {
		if _, err := Load("", func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "announce.") {
			t.Errorf("Load with %v: %v; want an announce error", env, err)
		}
	}
}
