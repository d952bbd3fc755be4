// Package translate is the translators' workflow: which texts each language
// lacks or has outdated, a file with only those for a translator, and
// merging the translated file back. It uses go-i18n's conventions (a
// translation records the "sha1-..." hash of the English text it was made
// from), so goi18n users feel at home.
package translate

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"putokaz/internal/content"
)

// Coverage is the state of one language's texts.
type Coverage struct {
	Lang  string
	Total int
	// Own are texts written in this language; Generated were transliterated.
	Own       int
	Generated int
	Missing   []string
	Outdated  []string
}

// Status reports every language's coverage against the default language.
// A text that only flows for other languages use does not count.
func Status(c *content.Content) []Coverage {
	var src []string
	for _, id := range c.Texts.IDs(content.DefaultLanguage) {
		if !strings.HasPrefix(id, content.StaffPrefix) { // staff texts may stay English
			src = append(src, id)
		}
	}
	var out []Coverage
	for _, l := range c.Languages {
		cv := Coverage{Lang: l.Tag}
		for _, id := range src {
			if !c.TextNeeded(l.Tag, id) {
				continue // only flows for other languages use it
			}
			cv.Total++
			tr, ok := c.Texts.Translation(l.Tag, id)
			switch {
			case !ok:
				cv.Missing = append(cv.Missing, id)
			case tr.Generated:
				cv.Generated++
			default:
				cv.Own++
				if l.Tag != content.DefaultLanguage && tr.Hash != "" && tr.Hash != c.Texts.SourceHash(id) {
					cv.Outdated = append(cv.Outdated, id)
				}
			}
		}
		out = append(out, cv)
	}
	return out
}

// Percent is the share of texts present and current.
func (cv Coverage) Percent() int {
	if cv.Total == 0 {
		return 100
	}
	return 100 * (cv.Total - len(cv.Missing) - len(cv.Outdated)) / cv.Total
}

// Export writes a translate.<lang>.yaml file holding only the texts the
// language lacks or has outdated: each with the English text to replace,
// the hash of that English text, and the plural forms the language needs.
func Export(c *content.Content, lang string) ([]byte, int, error) {
	if _, ok := c.Language(lang); !ok {
		return nil, 0, fmt.Errorf("export: unknown language %q", lang)
	}
	var cv Coverage
	for _, x := range Status(c) {
		if x.Lang == lang {
			cv = x
		}
	}
	ids := append(slices.Clone(cv.Missing), cv.Outdated...)
	slices.Sort(ids)
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, id := range ids {
		src, _ := c.Texts.Translation(content.DefaultLanguage, id)
		msg := &yaml.Node{Kind: yaml.MappingNode}
		add(msg, "hash", c.Texts.SourceHash(id))
		if len(src.Forms) > 1 {
			// Offer every form the target language needs, filled with English.
			for _, f := range content.PluralForms(lang) {
				en := src.Forms[f]
				if en == "" {
					en = src.Forms["other"]
				}
				add(msg, f, en)
			}
		} else {
			add(msg, "other", src.Forms["other"])
		}
		set(root, strings.Split(id, "."), msg)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Texts to translate into %s: replace each English text, keep {{.names}}, <b> tags and line breaks.\n", lang)
	fmt.Fprintf(&buf, "# Leave every \"hash\" line as it is. Then: putokaz translate import translate.%s.yaml\n", lang)
	if len(ids) == 0 {
		buf.WriteString("{}\n")
		return buf.Bytes(), 0, nil
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, 0, fmt.Errorf("export %s: %w", lang, err)
	}
	return unescapeAstral(buf.Bytes()), len(ids), nil
}

// Import merges a translated file into a language's active file and
// returns the new active file: every text of the translated file replaces
// (or adds) the one with the same name, keeping its hash.
func Import(active, translated []byte) ([]byte, int, error) {
	var doc, tr yaml.Node
	if err := yaml.Unmarshal(active, &doc); err != nil {
		return nil, 0, fmt.Errorf("import: read active file: %w", err)
	}
	if err := yaml.Unmarshal(translated, &tr); err != nil {
		return nil, 0, fmt.Errorf("import: read translated file: %w", err)
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	if tr.Kind == 0 || len(tr.Content) == 0 || tr.Content[0].Kind != yaml.MappingNode {
		return active, 0, nil
	}
	n := 0
	var walk func(m *yaml.Node, path []string) error
	walk = func(m *yaml.Node, path []string) error {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			p := append(slices.Clone(path), k.Value)
			if v.Kind == yaml.MappingNode && !isMessage(v) {
				if err := walk(v, p); err != nil {
					return err
				}
				continue
			}
			if v.Kind != yaml.ScalarNode && v.Kind != yaml.MappingNode {
				return fmt.Errorf("import: %s is not a text", strings.Join(p, "."))
			}
			set(doc.Content[0], p, v)
			n++
		}
		return nil
	}
	if err := walk(tr.Content[0], nil); err != nil {
		return nil, 0, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, 0, fmt.Errorf("import: write: %w", err)
	}
	return unescapeAstral(buf.Bytes()), n, nil
}

func isMessage(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch strings.ToLower(n.Content[i].Value) {
		case "hash", "description", "zero", "one", "two", "few", "many", "other":
			return true
		}
	}
	return false
}

func add(m *yaml.Node, k, v string) {
	m.Content = append(m.Content, keyNode(k), &yaml.Node{Kind: yaml.ScalarNode, Value: v, Style: textStyle(v)})
}

func textStyle(v string) yaml.Style {
	if strings.Contains(v, "\n") {
		return yaml.LiteralStyle
	}
	return 0
}

var astralRe = regexp.MustCompile(`\\U([0-9A-Fa-f]{8})`)

// unescapeAstral undoes yaml.v3's escaping of emoji ("\U0001F4E8") inside
// double-quoted strings, which translators cannot read; the raw character is
// just as valid there.
func unescapeAstral(b []byte) []byte {
	return astralRe.ReplaceAllFunc(b, func(m []byte) []byte {
		n, err := strconv.ParseUint(string(m[2:]), 16, 32)
		if err != nil || !utf8.ValidRune(rune(n)) {
			return m
		}
		return utf8.AppendRune(nil, rune(n))
	})
}

// keyNode quotes names YAML 1.1 tools would read as true/false.
func keyNode(k string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: k}
	switch strings.ToLower(k) {
	case "yes", "no", "on", "off", "y", "n", "true", "false":
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// set puts value at a dotted path in a mapping, creating groups as needed.
func set(m *yaml.Node, path []string, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == path[0] {
			if len(path) == 1 {
				m.Content[i+1] = value
				return
			}
			if m.Content[i+1].Kind != yaml.MappingNode {
				m.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode}
			}
			set(m.Content[i+1], path[1:], value)
			return
		}
	}
	key := keyNode(path[0])
	if len(path) == 1 {
		m.Content = append(m.Content, key, value)
		return
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, key, child)
	set(child, path[1:], value)
}
