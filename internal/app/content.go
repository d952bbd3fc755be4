package app

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"time"

	"putokaz/internal/config"
	"putokaz/internal/content"
	"putokaz/internal/engine"
)

// contentSource picks the content: a folder if given, the flows/ and
// locales/ of the current folder if both exist (an editor in a checkout),
// otherwise the content built into the binary.
func contentSource(dir string) content.Source {
	if dir != "" {
		return content.Dir(dir)
	}
	if isDir("flows") && isDir("locales") && hasYAML("flows") {
		return content.Dir(".")
	}
	return content.Embedded()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func hasYAML(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	return len(m) > 0
}

// newEngine is the production engine: real clock, crypto randomness, and
// the organisation the texts name (config.yaml: organisation).
func newEngine(org config.Organisation) *engine.Engine {
	e := engine.New(time.Now, func() uint64 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		return binary.LittleEndian.Uint64(b[:])
	})
	e.Org = engine.Organisation{Name: org.Name, Names: org.Names, DataContact: org.DataContact}
	return e
}
