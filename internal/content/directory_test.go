package content_test

import (
	"strings"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/testkit/contenttest"
)

// TestNotifyClosed: a service's notify_closed is read (false when absent),
// and a value that is not true/false is reported at its file:line:col.
func TestNotifyClosed(t *testing.T) {
	dir := contenttest.Files()["flows/directory.yaml"]
	with := func(v string) string {
		return strings.Replace(dir, "    declined: svc.declined\n", "    declined: svc.declined\n    notify_closed: "+v+"\n", 1)
	}

	c, diags := content.Load(content.Dir(contenttest.Write(t, nil)))
	if c == nil || diags.HasErrors() || c.Directory.Services["svc"].NotifyClosed {
		t.Fatalf("without the field: %v, %v", c != nil && c.Directory.Services["svc"].NotifyClosed, diags)
	}
	c, diags = content.Load(content.Dir(contenttest.Write(t, map[string]string{"flows/directory.yaml": with("true")})))
	if c == nil || diags.HasErrors() || !c.Directory.Services["svc"].NotifyClosed {
		t.Fatalf("notify_closed: true not read:\n%v", diags)
	}
	c, diags = content.Load(content.Dir(contenttest.Write(t, map[string]string{"flows/directory.yaml": with("sometimes")})))
	found := false
	for _, d := range diags {
		found = found || (strings.Contains(d.String(), "flows/directory.yaml:6:20: ") &&
			strings.Contains(d.Msg, "notify_closed should be true or false"))
	}
	if c != nil || !found {
		t.Fatalf("a bad notify_closed is not an error at its place:\n%v", diags)
	}
}

// TestClaimWithin: claim_within is read as working time (4h when absent,
// 0 with off), and a value that is not a time in range is reported at its
// place.
func TestClaimWithin(t *testing.T) {
	dir := contenttest.Files()["flows/directory.yaml"]
	with := func(v string) map[string]string {
		return map[string]string{"flows/directory.yaml": strings.Replace(dir, "    declined: svc.declined\n",
			"    declined: svc.declined\n    claim_within: "+v+"\n", 1)}
	}
	c, diags := content.Load(content.Dir(contenttest.Write(t, nil)))
	if c == nil || diags.HasErrors() || c.Directory.Services["svc"].ClaimWithin != content.DefaultClaimWithin {
		t.Fatalf("without the field: %v", diags)
	}
	for v, want := range map[string]time.Duration{"90m": 90 * time.Minute, "1h30m": 90 * time.Minute, "off": 0, "48h": 48 * time.Hour} {
		c, diags := content.Load(content.Dir(contenttest.Write(t, with(v))))
		if c == nil || diags.HasErrors() || c.Directory.Services["svc"].ClaimWithin != want {
			t.Errorf("claim_within: %s not read as %v:\n%v", v, want, diags)
		}
	}
	for _, v := range []string{"soon", "4", "1m", "-4h", "200h"} {
		c, diags := content.Load(content.Dir(contenttest.Write(t, with(v))))
		found := false
		for _, d := range diags {
			found = found || (strings.Contains(d.String(), "flows/directory.yaml:6:19: ") && strings.Contains(d.Msg, "claim_within"))
		}
		if c != nil || !found {
			t.Errorf("a bad claim_within %q is not an error at its place:\n%v", v, diags)
		}
	}
}
