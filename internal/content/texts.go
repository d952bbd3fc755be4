package content

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/nicksnyder/go-i18n/v2/i18n/template"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"

	"putokaz/internal/textnorm"
)

// DefaultLanguage is the language texts fall back to when a translation is
// missing (the checker reports every such gap).
const DefaultLanguage = "en"

// pluralKeys are go-i18n's plural form names, in CLDR order.
var pluralKeys = []string{"zero", "one", "two", "few", "many", "other"}

// text is one message in one language, as written (or generated).
type text struct {
	ID    string
	Lang  string
	Forms map[string]string // plural form → template source; plain texts use "other"
	Pos   Pos
	// Generated is set when the text was transliterated from another language.
	Generated bool
	// Hash is the go-i18n hash of the source text this translation was made
	// from ("sha1-..."), when the translator workflow recorded it.
	Hash        string
	Description string
	// plain is the final text when there is nothing to fill in at run time.
	plain    string
	isPlain  bool
	isPlural bool
}

// Texts holds every message in every language and renders them.
type Texts struct {
	bundle     *i18n.Bundle
	localizers map[string]*i18n.Localizer
	byLang     map[string]map[string]*text
	langs      []string
	dir        string
	// files records which languages have a readable file of their own.
	files map[string]bool
	// broken is set when a locale file could not be read at all.
	broken bool
	// Missing counts renders that fell back to the default language.
	Missing atomic.Int64
}

// strictParser makes a template that uses an unknown variable fail instead of
// printing "<no value>" to a person.
var strictParser = &template.TextParser{Option: "missingkey=error"}

// Has reports whether a message exists in a language (written or generated).
func (t *Texts) Has(lang, id string) bool {
	_, ok := t.byLang[lang][id]
	return ok
}

// IDs returns every message ID of a language, sorted.
func (t *Texts) IDs(lang string) []string {
	return slices.Sorted(maps.Keys(t.byLang[lang]))
}

// Source returns the plural forms of a message as written, for checks.
func (t *Texts) Source(lang, id string) (map[string]string, Pos, bool) {
	x, ok := t.byLang[lang][id]
	if !ok {
		return nil, Pos{}, false
	}
	return x.Forms, x.Pos, true
}

// Version identifies the wording of a text in a language (a short hash of
// its source), so a recorded consent names exactly the text the person saw.
func (t *Texts) Version(lang, id string) string {
	x, ok := t.byLang[lang][id]
	if !ok {
		return ""
	}
	h := sha256.New()
	for _, k := range pluralKeys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, x.Forms[k])
	}
	return lang + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}

// SourceHash is go-i18n's hash of a text's source (the default language):
// a translation recording another hash was made from an older source.
func (t *Texts) SourceHash(id string) string {
	x, ok := t.byLang[DefaultLanguage][id]
	if !ok {
		return ""
	}
	h := sha1.New()
	_, _ = io.WriteString(h, x.Description)
	_, _ = io.WriteString(h, x.Forms["other"])
	return fmt.Sprintf("sha1-%x", h.Sum(nil))
}

// Translation describes one language's text for the translator workflow.
type Translation struct {
	Forms     map[string]string
	Hash      string
	Generated bool
	Pos       Pos
}

// Translation returns a language's text of a message.
func (t *Texts) Translation(lang, id string) (Translation, bool) {
	x, ok := t.byLang[lang][id]
	if !ok {
		return Translation{}, false
	}
	return Translation{Forms: x.Forms, Hash: x.Hash, Generated: x.Generated, Pos: x.Pos}, true
}

// PluralForms lists the CLDR plural forms a language needs.
func PluralForms(lang string) []string { return pluralForms(lang) }

// Plain returns a text that has nothing to fill in, without allocating.
func (t *Texts) Plain(lang, id string) (string, bool) {
	x, ok := t.byLang[lang][id]
	if !ok || !x.isPlain {
		return "", false
	}
	return x.plain, true
}

// Render returns a message in a language, filling in vars (already safe for
// HTML) and choosing the plural form by count (nil for none). A message
// missing in lang falls back to the default language and is counted.
func (t *Texts) Render(lang, id string, vars map[string]string, count any) (string, error) {
	x, ok := t.byLang[lang][id]
	if !ok {
		t.Missing.Add(1)
		x, ok = t.byLang[DefaultLanguage][id]
		if !ok {
			return "", fmt.Errorf("render %s: no text in any language", id)
		}
		lang = DefaultLanguage
	}
	if x.isPlain {
		return x.plain, nil
	}
	loc := t.localizers[lang]
	cfg := &i18n.LocalizeConfig{MessageID: id, TemplateParser: strictParser}
	if vars != nil {
		cfg.TemplateData = vars
	}
	if x.isPlural {
		if count == nil {
			count = 0
		}
		cfg.PluralCount = count
		if _, ok := vars["Count"]; !ok {
			// {{.Count}} is always defined in a counting text, also next to
			// other values (the engine always passes {{.org}}).
			data := make(map[string]any, len(vars)+1)
			for k, v := range vars {
				data[k] = v
			}
			data["Count"] = count
			cfg.TemplateData = data
		}
	}
	s, err := loc.Localize(cfg)
	if err != nil {
		return "", fmt.Errorf("render %s in %s: %w", id, lang, err)
	}
	return s, nil
}

// loadLanguages reads locales/languages.yaml: the languages the bot speaks,
// in picker order.
func loadLanguages(fsys fs.FS, dir string, diags *Diags) []Language {
	r := &fileReader{name: path.Join(dir, "languages.yaml"), diags: diags}
	_, root := r.readYAML(fsys, "languages.yaml")
	if root == nil {
		return nil
	}
	if root.Kind != yaml.SequenceNode {
		r.errorf(root, "languages.yaml should be a list of languages (lines starting with \"- tag:\")")
		return nil
	}
	var langs []Language
	seen := map[string]bool{}
	for _, n := range root.Content {
		f, _ := r.fields(n, "a language", "tag", "name", "rtl", "aliases", "from")
		if f == nil {
			continue
		}
		l := Language{Pos: r.pos(n)}
		l.Tag, _ = r.str(f["tag"], "tag")
		l.Name, _ = r.str(f["name"], "name")
		if f["rtl"] != nil {
			l.RTL = r.boolean(f["rtl"], "rtl")
		}
		if f["from"] != nil {
			l.From, _ = r.str(f["from"], "from")
		}
		if a := f["aliases"]; a != nil {
			if a.Kind != yaml.SequenceNode {
				r.errorf(a, "aliases should be a list, like [hr, bs]")
			} else {
				for _, an := range a.Content {
					if s, ok := r.str(an, "an alias"); ok {
						l.Aliases = append(l.Aliases, s)
					}
				}
			}
		}
		switch {
		case l.Tag == "":
			r.errorf(n, "a language needs a tag, like \"en\" or \"sr-Latn\"")
			continue
		case l.Name == "":
			r.errorf(n, "language %s needs a name, written in that language, for the language picker", l.Tag)
		case seen[l.Tag]:
			r.errorf(n, "language %s is listed twice", l.Tag)
			continue
		}
		if _, err := language.Parse(l.Tag); err != nil {
			r.errorf(f["tag"], "%q is not a language tag (examples: en, ar, fa, sr-Cyrl, sr-Latn)", l.Tag)
			continue
		}
		seen[l.Tag] = true
		langs = append(langs, l)
	}
	for _, l := range langs {
		if l.From != "" && !seen[l.From] {
			diags.errorf(l.Pos, "language %s is generated from %s, which is not in the list", l.Tag, l.From)
		}
	}
	if !seen[DefaultLanguage] {
		r.errorf(root, "the list must include %s: it is the fallback for missing texts", DefaultLanguage)
	}
	return langs
}

// loadTexts reads active.<tag>.yaml for every language into a go-i18n bundle
// and our own index (with positions for the checker).
func loadTexts(fsys fs.FS, dir string, langs []Language, diags *Diags) *Texts {
	t := &Texts{
		bundle:     i18n.NewBundle(language.English),
		localizers: map[string]*i18n.Localizer{},
		byLang:     map[string]map[string]*text{},
		dir:        dir,
		files:      map[string]bool{},
	}
	t.bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	for _, l := range langs {
		t.langs = append(t.langs, l.Tag)
		t.byLang[l.Tag] = map[string]*text{}
		file := "active." + l.Tag + ".yaml"
		if _, err := fs.Stat(fsys, file); errors.Is(err, fs.ErrNotExist) {
			if l.From == "" {
				diags.errorf(l.Pos, "there is no %s for language %s", path.Join(dir, file), l.Tag)
			}
			continue
		}
		t.files[l.Tag] = true
		r := &fileReader{name: path.Join(dir, file), diags: diags}
		data, root := r.readYAML(fsys, file)
		if root == nil {
			t.broken = true
			t.files[l.Tag] = false // its texts are not "missing": the file is unreadable
			continue
		}
		before := len(*diags)
		r.walkMessages(root, "", l.Tag, t.byLang[l.Tag])
		if len(*diags) > before {
			continue // the bundle would reject the same problems less clearly
		}
		if _, err := t.bundle.ParseMessageFileBytes(data, file); err != nil {
			r.errorf(root, "the texts cannot be loaded: %v", err)
		}
	}
	t.generate(langs)
	for _, l := range langs {
		t.localizers[l.Tag] = i18n.NewLocalizer(t.bundle, l.Tag)
		for _, x := range t.byLang[l.Tag] {
			x.prepare()
		}
	}
	return t
}

// generate fills languages that have a From language (Serbian Latin) with
// transliterations of the messages they do not write themselves.
func (t *Texts) generate(langs []Language) {
	for _, l := range langs {
		if l.From == "" {
			continue
		}
		own := t.byLang[l.Tag]
		var add []*i18n.Message
		for id, src := range t.byLang[l.From] {
			if _, ok := own[id]; ok {
				continue
			}
			x := &text{ID: id, Lang: l.Tag, Forms: map[string]string{}, Pos: src.Pos, Generated: true}
			m := &i18n.Message{ID: id}
			for form, s := range src.Forms {
				lat := textnorm.CyrToLat(s)
				x.Forms[form] = lat
				setForm(m, form, lat)
			}
			own[id] = x
			add = append(add, m)
		}
		if len(add) > 0 {
			// Every message was validated above, so AddMessages cannot fail on content.
			if err := t.bundle.AddMessages(language.Make(l.Tag), add...); err != nil {
				panic(fmt.Sprintf("add generated %s messages: %v", l.Tag, err))
			}
		}
	}
}

func setForm(m *i18n.Message, form, s string) {
	switch form {
	case "zero":
		m.Zero = s
	case "one":
		m.One = s
	case "two":
		m.Two = s
	case "few":
		m.Few = s
	case "many":
		m.Many = s
	default:
		m.Other = s
	}
}

func (x *text) prepare() {
	x.isPlural = len(x.Forms) > 1 || x.Forms["other"] == ""
	if !x.isPlural && !strings.Contains(x.Forms["other"], "{{") {
		x.isPlain = true
		x.plain = x.Forms["other"]
	}
}

// walkMessages indexes the messages of one locale file the way go-i18n reads
// them: nested keys join with dots; a group whose keys are plural forms (or
// description/hash) is one message.
func (r *fileReader) walkMessages(n *yaml.Node, prefix, lang string, out map[string]*text) {
	if n.Kind != yaml.MappingNode {
		r.errorf(n, "texts are written as \"id: text\" lines, grouped under names; found %s here", describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		id := k.Value
		if prefix != "" {
			id = prefix + "." + id
		}
		if strings.Contains(k.Value, ".") {
			r.errorf(k, "%q: a text name cannot contain a dot; nest it under a group instead", k.Value)
			continue
		}
		if _, dup := out[id]; dup {
			r.errorf(k, "text %q is written twice", id)
			continue
		}
		switch {
		case v.Kind == yaml.ScalarNode:
			if isReservedKey(k.Value) {
				r.errorf(k, "%q cannot be used as a text name here: go-i18n reads it as a plural form or field; rename it", k.Value)
				continue
			}
			if v.Tag == "!!null" || strings.TrimSpace(v.Value) == "" {
				r.errorf(v, "text %q is empty", id)
				continue
			}
			out[id] = &text{ID: id, Lang: lang, Forms: map[string]string{"other": v.Value}, Pos: r.pos(v)}
		case v.Kind == yaml.MappingNode && isMessageNode(v) && mixesNames(v):
			for j := 0; j+1 < len(v.Content); j += 2 {
				if fk := v.Content[j]; isReservedKey(fk.Value) {
					r.errorf(fk, "%q cannot be a text name next to others: go-i18n reads it as a plural form or field, which makes the whole group %q one text; rename it", fk.Value, id)
				}
			}
		case v.Kind == yaml.MappingNode && isMessageNode(v):
			x := &text{ID: id, Lang: lang, Forms: map[string]string{}, Pos: r.pos(k)}
			for j := 0; j+1 < len(v.Content); j += 2 {
				fk, fv := v.Content[j], v.Content[j+1]
				key := strings.ToLower(fk.Value)
				if !contains(pluralKeys, key) {
					switch key {
					case "hash":
						x.Hash = fv.Value
						continue
					case "description":
						x.Description = fv.Value
						continue
					}
					r.errorf(fk, "text %q mixes plural forms with %q; use only zero, one, two, few, many, other (and description, hash)", id, fk.Value)
					continue
				}
				if fv.Kind != yaml.ScalarNode || strings.TrimSpace(fv.Value) == "" {
					r.errorf(fv, "plural form %q of text %q is empty", key, id)
					continue
				}
				x.Forms[key] = fv.Value
			}
			if len(x.Forms) > 0 {
				out[id] = x
			}
		default:
			r.walkMessages(v, id, lang, out)
		}
	}
}

func isReservedKey(k string) bool {
	switch strings.ToLower(k) {
	case "id", "description", "hash", "leftdelim", "rightdelim", "translation":
		return true
	}
	return contains(pluralKeys, strings.ToLower(k))
}

// mixesNames reports a group that has both reserved keys and ordinary names.
func mixesNames(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isReservedKey(n.Content[i].Value) {
			return true
		}
	}
	return false
}

// isMessageNode mirrors go-i18n: a group with any reserved key holding text is one message.
func isMessageNode(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isReservedKey(n.Content[i].Value) && n.Content[i+1].Kind == yaml.ScalarNode {
			return true
		}
	}
	return false
}
