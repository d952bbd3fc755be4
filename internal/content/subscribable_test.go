package content_test

import (
	"strings"
	"testing"

	"putokaz/internal/content"
	"putokaz/internal/testkit/contenttest"
)

// TestSubscribable: subscribable is read (false when absent) and checked:
// the main menu cannot be followed, a followed topic needs a title and a
// first step that is a message with buttons (the toggle hangs under it),
// and a value that is not true/false is an error at its place.
func TestSubscribable(t *testing.T) {
	files := contenttest.Files()
	load := func(path, from, to string) (*content.Content, content.Diags) {
		t.Helper()
		if !strings.Contains(files[path], from) {
			t.Fatalf("%s has no %q", path, from)
		}
		return content.Load(content.Dir(contenttest.Write(t, map[string]string{path: strings.Replace(files[path], from, to, 1)})))
	}
	c, diags := content.Load(content.Dir(contenttest.Write(t, nil)))
	if c == nil || diags.HasErrors() || c.Flows["sos"].Subscribable {
		t.Fatalf("without the field: %v", diags)
	}
	c, diags = load("flows/sos.yaml", "emergency: true\n", "emergency: true\nsubscribable: true\n")
	if c == nil || diags.HasErrors() || !c.Flows["sos"].Subscribable {
		t.Fatalf("subscribable: true not read:\n%v", diags)
	}
	for _, tc := range []struct {
		name, path, from, to, want string
	}{
		{"main menu", "flows/main.yaml", "title: main.title\n", "title: main.title\nsubscribable: true\n",
			"flows/main.yaml:3:15: the main menu cannot be followed"},
		{"no title", "flows/sos.yaml", "title: sos.title\n", "subscribable: true\n",
			"flows/sos.yaml:2:15: flow \"sos\" is subscribable but has no title"},
		{"first step asks", "flows/sos.yaml", "emergency: true\nsteps:\n", "emergency: true\nsubscribable: true\nstart: later\nsteps:\n  later:\n    ask: sos.numbers\n    save: x\n    next: numbers\n",
			"flows/sos.yaml:5:15: flow \"sos\" is subscribable, so its first step \"later\" must be a message with buttons"},
		{"not a boolean", "flows/sos.yaml", "emergency: true\n", "emergency: true\nsubscribable: often\n",
			"flows/sos.yaml:5:15: subscribable should be true or false"},
	} {
		c, diags := load(tc.path, tc.from, tc.to)
		found := false
		for _, d := range diags.Errors() {
			found = found || strings.Contains(d.String(), tc.want)
		}
		if c != nil || !found {
			t.Errorf("%s: want an error %q, got:\n%v", tc.name, tc.want, diags)
		}
	}
}
