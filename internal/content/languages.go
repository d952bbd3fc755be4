package content

import (
	"slices"
	"strings"
)

// Flows for some languages (a flow's "languages:" list).
//
// The rule, kept simple for editors:
//   - readers of other languages never see the flow: the engine leaves out
//     buttons that lead to it, its keywords do not open it for them, and a
//     /start link or a change of language brings them to the main menu;
//   - so its texts, and the labels of buttons that lead to it, are needed
//     only in its languages;
//   - a "next:" or "go:" into it from a flow that serves other languages is an
//     error: readers of those languages would be taken where they cannot read.

// flowLanguages checks every flow's languages list and the ways into flows
// for some languages, and records which languages each text is needed in.
func (ck *checker) flowLanguages() {
	c := ck.c
	known := make([]string, 0, len(c.Languages))
	for _, l := range c.Languages {
		known = append(known, l.Tag)
	}
	for _, name := range c.FlowOrder {
		f := c.Flows[name]
		if len(f.Languages) == 0 {
			continue
		}
		p := ck.fl.languagesPos[name]
		for _, tag := range f.Languages {
			if !slices.Contains(known, tag) {
				ck.diags.errorf(p, "flow %q lists language %q, which is not in languages.yaml (languages: %s)%s",
					name, tag, strings.Join(known, ", "), suggest(tag, known))
			}
		}
		if !f.Serves(DefaultLanguage) {
			ck.diags.errorf(p, "flow %q must also serve %s: translations are made from its %s texts", name, DefaultLanguage, DefaultLanguage)
		}
		switch {
		case name == HomeFlow:
			ck.diags.errorf(p, "the main menu (flow %q) must serve every language; remove \"languages:\"", name)
		case f.Emergency:
			ck.diags.errorf(p, "the emergency flow must serve every language; remove \"languages:\"")
		}
	}
	for _, name := range c.FlowOrder {
		f := c.Flows[name]
		for _, sn := range f.Order {
			s := f.Steps[sn]
			for _, j := range []struct {
				field string
				ref   *Ref
			}{{"next", s.Next}, {"go", s.Go}} {
				if j.ref == nil {
					continue
				}
				if lack := ck.unserved(f, c.Flows[j.ref.Flow]); len(lack) > 0 {
					p, ok := ck.fl.refPos[j.ref]
					if !ok {
						p = s.Pos
					}
					ck.diags.errorf(p, "%s: %q leads to flow %q, which serves only %s; readers of %s would be taken there. Use a button (buttons to it are shown only to its languages), or list the same languages here",
						j.field, j.ref.String(), j.ref.Flow, strings.Join(c.Flows[j.ref.Flow].Languages, ", "), strings.Join(lack, ", "))
				}
			}
			ck.hiddenButtons(f, s)
		}
	}
	ck.textLanguages(known)
}

// unserved lists the languages that flow from serves and flow to does not.
func (ck *checker) unserved(from, to *Flow) []string {
	if to == nil || len(to.Languages) == 0 {
		return nil
	}
	var out []string
	for _, l := range ck.c.Languages {
		if from.Serves(l.Tag) && !to.Serves(l.Tag) {
			out = append(out, l.Tag)
		}
	}
	return out
}

// hiddenButtons reports a step whose every button leads to flows for other
// languages: its readers in the remaining languages would find no way on.
func (ck *checker) hiddenButtons(f *Flow, s *Step) {
	if len(s.Buttons) == 0 || len(s.Choices) > 0 {
		return
	}
	var stuck []string
	for _, l := range ck.c.Languages {
		if !f.Serves(l.Tag) {
			continue
		}
		shown := 0
		for _, b := range s.Buttons {
			if b.Go == nil || ck.c.Serves(b.Go.Flow, l.Tag) {
				shown++
			}
		}
		if shown == 0 {
			stuck = append(stuck, l.Tag)
		}
	}
	if len(stuck) > 0 {
		ck.diags.errorf(s.Pos, "step %q shows no button in %s: every button leads to a flow for other languages; add a back or menu button",
			s.Name, strings.Join(stuck, ", "))
	}
}

// textLanguages records, for each text that only flows for some languages
// use, the languages it is needed in.
func (ck *checker) textLanguages(all []string) {
	c := ck.c
	c.textLangs = map[string][]string{}
	for id, uses := range ck.fl.ids {
		need := map[string]bool{}
		everywhere := false
		for _, u := range uses {
			langs := ck.useLanguages(u)
			if langs == nil {
				everywhere = true
				break
			}
			for _, l := range langs {
				need[l] = true
			}
		}
		if everywhere {
			continue
		}
		var langs []string
		for _, l := range all {
			if need[l] {
				langs = append(langs, l)
			}
		}
		c.textLangs[id] = langs
	}
}

// useLanguages is where one use of a text is seen: nil for every language.
func (ck *checker) useLanguages(u idUse) []string {
	var langs []string
	if f := ck.c.Flows[u.Flow]; f != nil && len(f.Languages) > 0 {
		langs = f.Languages
	}
	if u.Go == nil || *u.Go == nil {
		return langs
	}
	to := ck.c.Flows[(*u.Go).Flow]
	if to == nil || len(to.Languages) == 0 {
		return langs
	}
	if langs == nil {
		return to.Languages
	}
	var both []string
	for _, l := range langs {
		if to.Serves(l) {
			both = append(both, l)
		}
	}
	if both == nil {
		both = []string{} // shown to no one: needed nowhere
	}
	return both
}

// languageTags names languages for a sentence: "sr-Cyrl, en". A language
// made from another one in the list (Serbian Latin) is left out: editors
// write only the other one's file.
func languageTags(ls []Language) string {
	var tags []string
	for _, l := range ls {
		if l.From != "" && slices.ContainsFunc(ls, func(o Language) bool { return o.Tag == l.From }) {
			continue
		}
		tags = append(tags, l.Tag)
	}
	return strings.Join(tags, ", ")
}
