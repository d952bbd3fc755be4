package contenttest

import (
	"testing"

	"putokaz/internal/content"
)

func TestFixtureLoadsCleanly(t *testing.T) {
	c, diags := content.Load(content.Dir(Write(t, nil)))
	if c == nil || len(diags) > 0 {
		t.Fatalf("fixture: %v", diags)
	}
	if c.Directory.Services["svc"] == nil || len(c.Directory.Places) != 4 {
		t.Fatalf("directory not loaded: %+v", c.Directory)
	}
}
