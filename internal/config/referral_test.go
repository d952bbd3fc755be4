package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReferralSection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	file := `referral:
  retention: 48h
  keep_after_delete: [code, status]
  queues:
    avr: {group: -1001, topic: 7, languages: [ar, fa], webhook_url: "https://cases.example.org/hook"}
    "*": {group: -1002}
`
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, env(map[string]string{"PUTOKAZ_WEBHOOK_SECRET_AVR": "s3cret", "REFERRAL_ATTEMPTS": "4"}))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Referral
	avr := r.Queues["avr"]
	if time.Duration(r.Retention) != 48*time.Hour || !slices.Equal(r.KeepAfterDelete, []string{"code", "status"}) ||
		avr.Group != -1001 || avr.Topic != 7 || !slices.Equal(avr.Languages, []string{"ar", "fa"}) ||
		avr.WebhookSecret != "s3cret" || r.Queues["*"].Group != -1002 || r.Attempts != 4 || r.WebhookAttempts != 12 {
		t.Fatalf("referral = %+v", r)
	}

	// The environment replaces the queues (YAML or JSON) and the list.
	cfg, err = Load(path, env(map[string]string{"REFERRAL_QUEUES": `{"legal_aid": {"group": -1003}}`,
		"REFERRAL_KEEP_AFTER_DELETE": "code, service"}))
	if err != nil {
		t.Fatal(err)
	}
	if q := cfg.Referral.Queues; len(q) != 1 || q["legal_aid"].Group != -1003 ||
		!slices.Equal(cfg.Referral.KeepAfterDelete, []string{"code", "service"}) {
		t.Fatalf("from the environment: %+v", cfg.Referral)
	}

	// A webhook without its secret in the environment is refused, naming
	// the variable; the secret is never read from the file.
	_, err = Load(path, env(nil))
	if err == nil || !strings.Contains(err.Error(), "PUTOKAZ_WEBHOOK_SECRET_AVR") {
		t.Fatalf("missing secret: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("referral:\n  queues:\n    avr: {group: -1, webhook_secret: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, env(nil)); err == nil || !strings.Contains(err.Error(), "webhook_secret") {
		t.Fatalf("a secret in the file must be refused: %v", err)
	}
	if _, err := Load(path, env(map[string]string{"REFERRAL_QUEUES": "{avr: {gruop: 1}}"})); err == nil {
		t.Fatal("a misspelt queue field in the environment must be refused")
	}
	if WebhookSecretEnv("*") != "PUTOKAZ_WEBHOOK_SECRET_DEFAULT" || WebhookSecretEnv("legal_aid") != "PUTOKAZ_WEBHOOK_SECRET_LEGAL_AID" {
		t.Error("WebhookSecretEnv")
	}
}

func TestStaffLanguage(t *testing.T) {
	cfg, err := Load("", env(map[string]string{"REFERRAL_STAFF_LANGUAGE": "sr-Cyrl"}))
	if err != nil || cfg.Referral.StaffLanguage != "sr-Cyrl" {
		t.Fatalf("sr-Cyrl: %q, %v", cfg.Referral.StaffLanguage, err)
	}
	if cfg, err := Load("", env(nil)); err != nil || cfg.Referral.StaffLanguage != "en" {
		t.Fatalf("default: %q, %v", cfg.Referral.StaffLanguage, err)
	}
	if _, err := Load("", env(map[string]string{"REFERRAL_STAFF_LANGUAGE": "fa"})); err == nil || !strings.Contains(err.Error(), "staff_language") {
		t.Fatalf("fa accepted: %v", err)
	}
}
