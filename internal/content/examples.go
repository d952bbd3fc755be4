package content

import (
	"io/fs"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"putokaz/internal/match"
	"putokaz/internal/textnorm"
)

// Example is one phrasing people type for a target, from
// locales/examples.<tag>.yaml.
type Example struct {
	Target string // a flow, flow/step, or match.Greeting / match.Thanks
	Lang   string
	Text   string
	Pos    Pos
}

// examplesFile names a language's examples file.
func examplesFile(tag string) string { return "examples." + tag + ".yaml" }

// loadExamples reads every language's examples file. A file for a language
// that is not in languages.yaml, a target that does not exist and a phrasing
// written for two targets are errors.
func (ck *checker) loadExamples(fsys fs.FS, dir string) {
	c := ck.c
	files, _ := fs.Glob(fsys, "examples.*.yaml")
	known := map[string]bool{}
	for _, l := range c.Languages {
		known[examplesFile(l.Tag)] = true
	}
	for _, f := range files {
		if !known[f] {
			tag := strings.TrimSuffix(strings.TrimPrefix(f, "examples."), ".yaml")
			ck.diags.errorf(Pos{File: path.Join(dir, f), Line: 1, Col: 1},
				"examples for language %q, which is not in languages.yaml; name the file examples.<tag>.yaml with a listed tag", tag)
		}
	}
	type claim struct {
		target string
		pos    Pos
	}
	claimed := map[string]claim{}
	for _, l := range c.Languages {
		file := examplesFile(l.Tag)
		if _, err := fs.Stat(fsys, file); err != nil {
			if l.From == "" && len(files) > 0 {
				ck.diags.warnf(l.Pos, "there is no %s: people who type in %s are understood only through keywords", path.Join(dir, file), l.Tag)
			}
			continue
		}
		r := &fileReader{name: path.Join(dir, file), diags: ck.diags}
		_, root := r.readYAML(fsys, file)
		if root == nil {
			continue
		}
		if root.Kind != yaml.MappingNode {
			r.errorf(root, "an examples file is a list of phrasings under each target, like \"shelter/where:\" followed by \"  - where can I sleep\"")
			continue
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			target := k.Value
			if !ck.validTarget(target) {
				r.errorf(k, "%q is not a topic: write a flow (shelter), a flow and its step (shelter/where), %s or %s%s",
					target, match.Greeting, match.Thanks, suggest(target, ck.targetNames()))
				continue
			}
			if st := ck.c.Step(parseRef(target, "")); strings.Contains(target, "/") && st != nil && (st.Kind == KindHandoff || st.Kind == KindReferral) {
				r.errorf(k, "%s is a %s step: typed text must not start it without its consent text; write the examples for the step that asks first",
					target, st.Kind)
				continue
			}
			if v.Kind != yaml.SequenceNode {
				r.errorf(v, "the phrasings of %s should be a list: each on its own line starting with \"- \"", target)
				continue
			}
			for _, n := range v.Content {
				text, ok := r.str(n, "a phrasing")
				if !ok {
					continue
				}
				folded := textnorm.Fold(text)
				if folded == "" {
					r.errorf(n, "phrasing %q has no words", text)
					continue
				}
				p := r.pos(n)
				if prev, dup := claimed[folded]; dup {
					if prev.target != target {
						ck.diags.errorf(p, "phrasing %q is written for %s and for %s (%s); a phrasing can lead to only one topic",
							text, target, prev.target, prev.pos)
					}
					continue
				}
				claimed[folded] = claim{target: target, pos: p}
				c.Examples = append(c.Examples, Example{Target: target, Lang: l.Tag, Text: text, Pos: p})
			}
		}
	}
}

func (ck *checker) validTarget(t string) bool {
	if t == match.Greeting || t == match.Thanks {
		return true
	}
	flow, step, hasStep := strings.Cut(t, "/")
	f := ck.c.Flows[flow]
	if f == nil {
		return false
	}
	return !hasStep || f.Steps[step] != nil
}

func (ck *checker) targetNames() []string {
	names := []string{match.Greeting, match.Thanks}
	for _, name := range ck.c.FlowOrder {
		names = append(names, name)
		for _, s := range ck.c.Flows[name].Order {
			names = append(names, name+"/"+s)
		}
	}
	return names
}

// indexMatcher builds the matcher's index from the examples, every flow's
// keywords (except the generic emergency words, which must not pull
// sentences to the emergency numbers) and every flow's title.
func (ck *checker) indexMatcher() {
	c := ck.c
	var docs []match.Doc
	for _, e := range c.Examples {
		docs = append(docs, match.Doc{Target: e.Target, Lang: e.Lang, Text: e.Text})
	}
	for _, name := range c.FlowOrder {
		f := c.Flows[name]
		if name == HomeFlow {
			continue
		}
		for _, l := range c.Languages {
			if l.From != "" {
				continue // a transliteration: the same words once folded
			}
			if t, ok := c.Texts.byLang[l.Tag][f.Title]; ok && f.Title != "" {
				docs = append(docs, match.Doc{Target: name, Lang: l.Tag, Text: t.Forms["other"]})
			}
			if t, ok := c.Texts.byLang[l.Tag][f.Keywords]; ok && f.Keywords != "" {
				for _, w := range SplitKeywords(t.Forms["other"]) {
					if f.Emergency && match.IsGeneric(textnorm.Fold(w)) {
						continue
					}
					docs = append(docs, match.Doc{Target: name, Lang: l.Tag, Text: w})
				}
			}
		}
	}
	c.Matcher = match.Build(docs)
}

// examplesMatch reports phrasings that the matcher does not send to their
// own topic, naming where it sends them instead.
func (ck *checker) examplesMatch() {
	for _, e := range ck.c.Examples {
		d, cs := ck.c.Matcher.Rank(e.Text).Decide()
		if d == match.Open && Reaches(cs[0].Target, e.Target) {
			continue
		}
		switch d {
		case match.Open:
			ck.diags.warnf(e.Pos, "phrasing %q (%s) for %s opens %s instead; make it more specific, or add phrasings to %s",
				e.Text, e.Lang, e.Target, cs[0].Target, e.Target)
		case match.Ask:
			names := make([]string, len(cs))
			for i, c := range cs {
				names[i] = c.Target
			}
			ck.diags.warnf(e.Pos, "phrasing %q (%s) for %s is not clear enough: the bot asks \"did you mean\" %s",
				e.Text, e.Lang, e.Target, strings.Join(names, ", "))
		default:
			ck.diags.warnf(e.Pos, "phrasing %q (%s) for %s matches nothing: its words are stop words or used by many topics",
				e.Text, e.Lang, e.Target)
		}
	}
}

// Reaches reports whether opening target got answers a request for want: the
// same target, or any step of want when want is a flow.
func Reaches(got, want string) bool {
	if got == want {
		return true
	}
	flow, _, _ := strings.Cut(got, "/")
	return !strings.Contains(want, "/") && flow == want
}
