package content

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"putokaz/flows"
	"putokaz/locales"
	"slices"
	"sort"
)

// Source is where content comes from: a flows folder and a locales folder.
type Source struct {
	Flows      fs.FS
	Locales    fs.FS
	FlowsDir   string // shown in problem reports, e.g. "flows"
	LocalesDir string
}

// Dir is content from a folder holding flows/ and locales/.
func Dir(dir string) Source {
	return Source{
		Flows:      os.DirFS(filepath.Join(dir, "flows")),
		Locales:    os.DirFS(filepath.Join(dir, "locales")),
		FlowsDir:   filepath.ToSlash(filepath.Join(dir, "flows")),
		LocalesDir: filepath.ToSlash(filepath.Join(dir, "locales")),
	}
}

// Load reads and checks content. It returns the content only when there are
// no errors; the diagnostics (errors and warnings) are returned either way.
func Load(src Source) (*Content, Diags) {
	var diags Diags
	c := load(src, &diags)
	diags.Sort()
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

// LoadLenient loads content even when texts are missing or outdated in some
// languages (for the translators' tools); other errors still stop it.
func LoadLenient(src Source) (*Content, Diags) {
	var diags Diags
	c := load(src, &diags)
	diags.Sort()
	for _, d := range diags {
		if d.Severity == Error && !d.missingText {
			return nil, diags
		}
	}
	return c, diags
}

func load(src Source, diags *Diags) *Content {
	langs := loadLanguages(src.Locales, src.LocalesDir, diags)
	if len(langs) == 0 {
		return nil
	}
	texts := loadTexts(src.Locales, src.LocalesDir, langs, diags)
	fl := &flowLoader{ids: map[string][]idUse{}}
	flows := fl.loadFlows(src.Flows, src.FlowsDir, diags)
	if flows == nil {
		return nil
	}
	dir := fl.loadDirectory(src.Flows, src.FlowsDir, diags)
	fl.resolve(flows, diags)
	c := &Content{Flows: flows, Languages: langs, Texts: texts, Directory: dir}
	for name := range flows {
		c.FlowOrder = append(c.FlowOrder, name)
	}
	sort.Strings(c.FlowOrder)
	ck := &checker{c: c, fl: fl, diags: diags, flowsDir: src.FlowsDir, locales: src.Locales, localesDir: src.LocalesDir}
	ck.run()
	c.Version = version(src)
	return c
}

// version hashes every content file, so sessions and logs can tell which
// content they were made with.
func version(src Source) string {
	h := sha256.New()
	for _, fsys := range []fs.FS{src.Flows, src.Locales} {
		files, _ := fs.Glob(fsys, "*.yaml")
		slices.Sort(files)
		for _, f := range files {
			data, err := readLimited(fsys, f)
			if err != nil {
				continue
			}
			fmt.Fprintf(h, "%s\x00%d\x00", f, len(data))
			h.Write(data)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Embedded is the default content built into the binary.
func Embedded() Source {
	return Source{Flows: flows.FS, Locales: locales.FS, FlowsDir: "flows", LocalesDir: "locales"}
}
