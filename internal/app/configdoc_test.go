package app

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"putokaz/internal/config"
	"putokaz/internal/testkit/golden"
)

// repoRoot is the repository root, from this package's folder.
const repoRoot = "../.."

// configDoc is docs/CONFIG.md, generated from config.Settings() so that the
// reference cannot drift from what the binary reads.
func configDoc() string {
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from internal/config by: go test ./internal/app -run TestConfigDoc -update
     Do not edit by hand: change the doc tags in internal/config/config.go. -->

Putokaz reads ` + "`config.yaml`" + ` from the working folder (or the file named by
` + "`putokaz serve --config FILE`" + `); a missing file is fine. Then every key can be overridden by the
environment variable beside it, which is where secrets belong (the Telegram token, the webhook
secret, a Redis password inside ` + "`REDIS_URL`" + `): keep them out of ` + "`config.yaml`" + ` and out of git.
` + "`config.yaml`" + ` at the root of the repository lists every key with its default and a comment.
` + "`putokaz config`" + ` prints this table from the binary itself.

Durations are written like ` + "`30m`" + ` or ` + "`720h`" + `. Lists are YAML lists in the file and
comma-separated in the environment.

| key | environment variable | default | meaning |
|---|---|---|---|
`)
	for _, s := range config.Settings() {
		def := "*(empty)*"
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		env := "—"
		if s.Env != "" {
			env = "`" + s.Env + "`"
		}
		b.WriteString("| `" + s.Key + "` | " + env + " | " + def + " | " + strings.ReplaceAll(s.Doc, "|", `\|`) + " |\n")
	}
	return b.String()
}

// TestConfigDoc keeps docs/CONFIG.md in step with the code. After changing
// a setting: go test ./internal/app -run TestConfigDoc -update
func TestConfigDoc(t *testing.T) {
	path := filepath.Join(repoRoot, "docs", "CONFIG.md")
	want := configDoc()
	golden.Check(t, path, want, "go test ./internal/app -run TestConfigDoc -update")
	for _, s := range config.Settings() {
		if s.Env == "" || s.Doc == "" {
			t.Errorf("setting %s has no env or doc tag", s.Key)
		}
	}
}

// yamlKeys flattens a YAML mapping into dotted keys, each with the comments
// of its section (the keys of one mapping: related keys may share a
// comment). A mapping is a leaf when the code reads it as one value (leaf).
func yamlKeys(n *yaml.Node, prefix string, leaf func(string) bool, out map[string]string) {
	var comments strings.Builder
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		comments.WriteString(k.HeadComment + " " + k.LineComment + " " + v.LineComment + " " + k.FootComment + " " + v.FootComment + " ")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := prefix + k.Value
		if v.Kind == yaml.MappingNode && !leaf(key) {
			yamlKeys(v, key+".", leaf, out)
			continue
		}
		out[key] = comments.String()
	}
}

// TestConfigYAMLMatchesCode: config.yaml is documented by hand; it must list
// exactly the keys the code reads, name each key's environment variable in
// its comment, and hold the code's defaults.
func TestConfigYAMLMatchesCode(t *testing.T) {
	path := filepath.Join(repoRoot, "config.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	inCode := map[string]config.Setting{}
	for _, s := range config.Settings() {
		inCode[s.Key] = s
	}
	inFile := map[string]string{}
	yamlKeys(doc.Content[0], "", func(k string) bool { _, ok := inCode[k]; return ok }, inFile)

	for _, s := range config.Settings() {
		c, ok := inFile[s.Key]
		if !ok {
			t.Errorf("config.yaml lacks %s (%s): document it there", s.Key, s.Env)
			continue
		}
		if !strings.Contains(c, s.Env) {
			t.Errorf("config.yaml: the comments of %s's section do not name its variable %s", s.Key, s.Env)
		}
	}
	var extra []string
	for k := range inFile {
		if _, ok := inCode[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	if len(extra) > 0 {
		t.Errorf("config.yaml has keys the code does not read: %v", extra)
	}

	// The values written there are the defaults, so that an operator who
	// copies the file changes nothing by accident.
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatalf("config.yaml does not load: %v", err)
	}
	// Compared as YAML, where an empty list or map and a nil one are the same.
	file, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	code, err := yaml.Marshal(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != string(code) {
		t.Errorf("config.yaml's values differ from config.Default():\n--- file\n%s--- code\n%s", file, code)
	}
}
