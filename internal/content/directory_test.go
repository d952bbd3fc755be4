package content_test

import (
	"strings"
	"testing"

	"putokaz/internal/content"
	"putokaz/internal/contenttest"
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
