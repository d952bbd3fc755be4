package content

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// SafetyFile lists, in locales/, the names of safety-critical texts
// (consents, emergency numbers, data and rights, erasure) as globs such as
// "services.*.consent": a translation that does not match its source there is
// an error, and each needs an English back-translation.
const SafetyFile = "safety.yaml"

// ReviewFile is the name, in locales/, of a language's English
// back-translations of its safety-critical texts.
func ReviewFile(lang string) string { return "review." + lang + ".yaml" }

// Review is one English back-translation: what a translated text says,
// translated back literally, so that someone who does not read the language
// can check it.
type Review struct {
	ID string
	// Hash is ReviewHash of the translation it was made from; empty until
	// "putokaz translate review --stamp LANG" fills it in.
	Hash    string
	English string
	// Pos is the entry's name; HashPos its hash value (where stamping writes).
	Pos     Pos
	HashPos Pos
}

// ReviewHash identifies the wording of a translated text for its
// back-translation: the first 12 hex digits of the SHA-256 of every plural
// form in the order zero, one, two, few, many, other, each written as
// "form NUL text NUL" (an absent form as an empty text). It is the hash part
// of Version, so a back-translation names the same wording as a recorded
// consent.
func (t *Texts) ReviewHash(lang, id string) string {
	v := t.Version(lang, id)
	if v == "" {
		return ""
	}
	return strings.TrimPrefix(v, lang+":")
}

// IsSafetyCritical reports whether a text is listed in locales/safety.yaml.
func (c *Content) IsSafetyCritical(id string) bool {
	return slices.ContainsFunc(c.Safety, func(g string) bool { return matchName(g, id) })
}

// matchName matches a text name against a pattern in which * stands for one
// part of the name (between dots): services.*.consent matches
// services.avr.consent but not services.consent.
func matchName(pattern, id string) bool {
	ok, _ := path.Match(strings.ReplaceAll(pattern, ".", "/"), strings.ReplaceAll(id, ".", "/"))
	return ok
}

// SafetyCriticalIDs lists the safety-critical texts that exist in English.
func (c *Content) SafetyCriticalIDs() []string {
	var out []string
	for _, id := range c.Texts.IDs(DefaultLanguage) {
		if c.IsSafetyCritical(id) {
			out = append(out, id)
		}
	}
	return out
}

// ReviewState is how far a language's safety-critical texts have English
// back-translations.
type ReviewState struct {
	Lang string
	// File is false when there is no review file at all.
	File bool
	// Needed are the safety-critical texts written in this language.
	Needed    []string
	Missing   []string // no back-translation (or an empty one)
	Outdated  []string // made from another wording of the text
	Unstamped []string // hash still empty
}

// ReviewStatus reports every language that writes safety-critical texts of
// its own (the default language and transliterated texts need none).
func (c *Content) ReviewStatus() []ReviewState {
	ids := c.SafetyCriticalIDs()
	var out []ReviewState
	for _, l := range c.Languages {
		if l.Tag == DefaultLanguage {
			continue
		}
		st := ReviewState{Lang: l.Tag, File: c.Reviews[l.Tag] != nil}
		for _, id := range ids {
			tr, ok := c.Texts.Translation(l.Tag, id)
			if !ok || tr.Generated {
				continue
			}
			st.Needed = append(st.Needed, id)
			rv, ok := c.Reviews[l.Tag][id]
			switch {
			case !ok || strings.TrimSpace(rv.English) == "":
				st.Missing = append(st.Missing, id)
			case rv.Hash == "":
				st.Unstamped = append(st.Unstamped, id)
			case rv.Hash != c.Texts.ReviewHash(l.Tag, id):
				st.Outdated = append(st.Outdated, id)
			}
		}
		if len(st.Needed) > 0 {
			out = append(out, st)
		}
	}
	return out
}

// loadSafety reads locales/safety.yaml: a list of text names or globs. It
// is optional; without it no text is safety-critical.
func loadSafety(fsys fs.FS, dir string, diags *Diags) ([]string, []Pos) {
	if _, err := fs.Stat(fsys, SafetyFile); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	r := &fileReader{name: path.Join(dir, SafetyFile), diags: diags}
	_, root := r.readYAML(fsys, SafetyFile)
	if root == nil {
		return nil, nil
	}
	if root.Kind != yaml.SequenceNode {
		r.errorf(root, "%s should be a list of text names (lines starting with \"- \"), like \"- services.*.consent\"", SafetyFile)
		return nil, nil
	}
	var globs []string
	var where []Pos
	for _, n := range root.Content {
		g, ok := r.str(n, "a text name")
		if !ok {
			continue
		}
		if _, err := path.Match(g, ""); err != nil || g == "" || strings.Contains(g, "/") {
			r.errorf(n, "%q is not a text name or pattern (use * for any part, like services.*.consent)", g)
			continue
		}
		globs = append(globs, g)
		where = append(where, r.pos(n))
	}
	return globs, where
}

// loadReviews reads review.<tag>.yaml of every language that has one.
// Problems in them are warnings: the bot does not use these files.
func loadReviews(fsys fs.FS, dir string, langs []Language, diags *Diags) (map[string]map[string]Review, map[string]string) {
	out := map[string]map[string]Review{}
	files := map[string]string{}
	known := map[string]bool{}
	for _, l := range langs {
		known[ReviewFile(l.Tag)] = true
		file := ReviewFile(l.Tag)
		if _, err := fs.Stat(fsys, file); err != nil {
			continue
		}
		name := path.Join(dir, file)
		files[l.Tag] = name
		var ds Diags
		r := &fileReader{name: name, diags: &ds}
		out[l.Tag] = r.readReviews(fsys, file)
		for _, d := range ds {
			d.Severity = Warning
			*diags = append(*diags, d)
		}
	}
	others, _ := fs.Glob(fsys, "review.*.yaml")
	for _, f := range others {
		if !known[f] {
			diags.warnf(Pos{File: path.Join(dir, f), Line: 1, Col: 1},
				"%s is not the review file of any language in languages.yaml (review.<tag>.yaml)", f)
		}
	}
	return out, files
}

func (r *fileReader) readReviews(fsys fs.FS, file string) map[string]Review {
	out := map[string]Review{}
	data, err := readLimited(fsys, file)
	if err != nil {
		r.diags.errorf(r.pos(nil), "%v", err)
		return out
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		r.yamlError(err)
		return out
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return out // only comments so far
	}
	root := doc.Content[0]
	if !r.checkDepth(root, 0) {
		return out
	}
	if root.Kind != yaml.MappingNode {
		r.errorf(root, "a review file is a list of text names, each with \"hash:\" and \"english:\"")
		return out
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, dup := out[k.Value]; dup {
			r.errorf(k, "the back-translation of %q is written twice", k.Value)
			continue
		}
		f, keys := r.fields(v, fmt.Sprintf("the back-translation of %q", k.Value), "hash", "english")
		if f == nil {
			continue
		}
		rv := Review{ID: k.Value, Pos: r.pos(k), HashPos: r.pos(k)}
		if h := f["hash"]; h != nil {
			rv.Hash, _ = r.str(h, "hash")
			rv.HashPos = r.pos(h)
		} else {
			r.errorf(k, "the back-translation of %q needs a line hash: \"\" (putokaz translate review --stamp fills it in)", k.Value)
		}
		if e := f["english"]; e != nil {
			rv.English, _ = r.str(e, "english")
		} else if keys["hash"] != nil {
			r.errorf(k, "the back-translation of %q needs \"english:\", the text translated back into English", k.Value)
		}
		out[k.Value] = rv
	}
	return out
}

// safety checks the safety list and the back-translations: all warnings,
// since the bot does not depend on them.
func (ck *checker) safety() {
	c := ck.c
	if len(c.Safety) == 0 {
		return
	}
	en := c.Texts.IDs(DefaultLanguage)
	for i, g := range c.Safety {
		if !slices.ContainsFunc(en, func(id string) bool { return matchName(g, id) }) {
			ck.diags.warnf(c.safetyPos[i],
				"%q in %s names no English text; is it misspelt?", g, SafetyFile)
		}
	}
	for _, st := range c.ReviewStatus() {
		file := path.Join(c.Texts.dir, ReviewFile(st.Lang))
		stamp := "putokaz translate review --stamp " + st.Lang
		if !st.File {
			l, _ := c.Language(st.Lang)
			ck.diags.warnf(Pos{File: ck.localeFile(l), Line: 1, Col: 1},
				"%d safety-critical texts in %s have no English back-translation: write %s (CONTENT.md, section 9)", len(st.Needed), st.Lang, file)
			continue
		}
		for _, id := range st.Missing {
			tr, _ := c.Texts.Translation(st.Lang, id)
			ck.diags.warnf(tr.Pos, "safety-critical text %q in %s has no English back-translation in %s", id, st.Lang, file)
		}
		for _, id := range st.Unstamped {
			ck.diags.warnf(c.Reviews[st.Lang][id].HashPos, "the back-translation of %q is not stamped: once it has been checked against the %s text, run %s", id, st.Lang, stamp)
		}
		for _, id := range st.Outdated {
			ck.diags.warnf(c.Reviews[st.Lang][id].HashPos, "the %s text %q changed after this back-translation was made: translate it back again, set hash to \"\" and run %s", st.Lang, id, stamp)
		}
		for _, id := range slices.Sorted(maps.Keys(c.Reviews[st.Lang])) {
			if !c.Texts.Has(st.Lang, id) {
				rv := c.Reviews[st.Lang][id]
				ck.diags.warnf(rv.Pos, "there is no text %q in %s to back-translate%s", id, st.Lang, suggest(id, c.Texts.IDs(st.Lang)))
			}
		}
	}
}
