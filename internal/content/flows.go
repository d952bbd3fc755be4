package content

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

var (
	flowFields   = []string{"flow", "title", "keywords", "emergency", "languages", "start", "steps", "subscribable"}
	stepFields   = []string{"say", "count", "buttons", "ask", "expect", "choices", "invalid", "save", "location", "next", "go", "end", "referral", "handoff", "nearest", "from", "item", "limit"}
	buttonFields = []string{"label", "go", "url", "action"}
	choiceFields = []string{"label", "value"}
)

// pending references are resolved once every flow is loaded.
type pendingRef struct {
	raw  string
	ref  **Ref
	node Pos
}

type flowLoader struct {
	refs []pendingRef
	// ids records where each message ID is used, for missing-text reports.
	ids map[string][]idUse
	// refPos records where each step reference (next, go) was written.
	refPos map[*Ref]Pos
	// flow is the flow being loaded ("" for the directory).
	flow string
	// languagesPos records where each flow's languages list was written.
	languagesPos map[string]Pos
	// subscribablePos records where each flow's subscribable field was written.
	subscribablePos map[string]Pos
	// broken records steps that were rejected (a misspelt field, a step that
	// is not a group of fields): they are kept as placeholders so references
	// to them resolve, and the checks that would only repeat the first error
	// (unreachable steps, unused texts, dead ends) are skipped. brokenFlows
	// are flow files that could not be read, by the flow name their file
	// suggests (or, for a flow with a misspelt field, by its file). One typo
	// gives one error.
	broken      map[*Step]bool
	brokenFlows map[string]bool
}

// anyBroken reports whether some flow or step was rejected while loading.
func (fl *flowLoader) anyBroken() bool { return len(fl.broken) > 0 || len(fl.brokenFlows) > 0 }

func (fl *flowLoader) markBroken(s *Step) {
	if fl.broken == nil {
		fl.broken = map[*Step]bool{}
	}
	fl.broken[s] = true
}

type idUse struct {
	Pos Pos
	// Keywords marks IDs that hold keyword lists (not shown to people).
	Keywords bool
	// Flow is the flow that uses the text ("" for the bot itself and the
	// directory): the text is needed in the languages that flow serves.
	Flow string
	// Go, for a button's label, is where the button leads: a button to a
	// flow for some languages is shown only to their readers.
	Go **Ref
	// Label marks IDs shown on a button or a choice.
	Label bool
}

func (fl *flowLoader) useID(id string, p Pos, keywords bool) {
	fl.ids[id] = append(fl.ids[id], idUse{Pos: p, Keywords: keywords, Flow: fl.flow})
}

// loadFlows reads every *.yaml file of the flows folder.
func (fl *flowLoader) loadFlows(fsys fs.FS, dir string, diags *Diags) map[string]*Flow {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil || len(files) == 0 {
		diags.errorf(Pos{File: dir, Line: 1, Col: 1}, "no flow files (*.yaml) found in %s", dir)
		return nil
	}
	flows := map[string]*Flow{}
	for _, file := range files {
		if file == DirectoryFile || strings.HasPrefix(file, ".") || strings.HasPrefix(file, "#") {
			continue // the directory, and editors' lock and backup files (.#main.yaml)
		}
		r := &fileReader{name: path.Join(dir, file), diags: diags}
		_, root := r.readYAML(fsys, file)
		var f *Flow
		if root != nil {
			f = fl.loadFlow(r, root)
		}
		if f == nil {
			if fl.brokenFlows == nil {
				fl.brokenFlows = map[string]bool{}
			}
			fl.brokenFlows[strings.ReplaceAll(strings.TrimSuffix(file, ".yaml"), "-", "_")] = true
			continue
		}
		if other, dup := flows[f.Name]; dup {
			r.errorf(nil, "flow %q is already defined in %s; flow names must be unique", f.Name, other.File)
			continue
		}
		if want := strings.TrimSuffix(file, ".yaml"); want != f.Name && strings.ReplaceAll(want, "-", "_") != f.Name {
			diags.warnf(f.Pos, "flow %q is in file %s; name the file %s.yaml so editors find it", f.Name, file, f.Name)
		}
		flows[f.Name] = f
	}
	return flows
}

func (fl *flowLoader) loadFlow(r *fileReader, root *yaml.Node) *Flow {
	before := len(*r.diags)
	fields, keys := r.fields(root, "a flow file", flowFields...)
	if fields == nil {
		return nil
	}
	if len(*r.diags) > before {
		// A misspelt flow field (titel, keywrods): what it named is unknown.
		if fl.brokenFlows == nil {
			fl.brokenFlows = map[string]bool{}
		}
		fl.brokenFlows[r.name] = true
	}
	f := &Flow{File: r.name, Steps: map[string]*Step{}, Pos: r.pos(root)}
	name, ok := r.str(fields["flow"], "flow")
	if !ok {
		r.errorf(root, "a flow file must start with \"flow: <name>\"")
		return nil
	}
	if !nameRe.MatchString(name) {
		r.errorf(fields["flow"], "flow name %q should use only small letters a–z, digits and _ (like voluntary_return)", name)
		return nil
	}
	f.Name = name
	f.Pos = r.pos(keys["flow"])
	fl.flow = name
	defer func() { fl.flow = "" }()
	if n := fields["languages"]; n != nil {
		f.Languages = fl.loadLanguages(r, n)
		if fl.languagesPos == nil {
			fl.languagesPos = map[string]Pos{}
		}
		fl.languagesPos[name] = r.pos(n)
	}
	if n := fields["title"]; n != nil {
		if f.Title, ok = r.str(n, "title"); ok {
			fl.useID(f.Title, r.pos(n), false)
		}
	}
	if n := fields["keywords"]; n != nil {
		if f.Keywords, ok = r.str(n, "keywords"); ok {
			fl.useID(f.Keywords, r.pos(n), true)
		}
	}
	if n := fields["emergency"]; n != nil {
		f.Emergency = r.boolean(n, "emergency")
	}
	if n := fields["subscribable"]; n != nil {
		f.Subscribable = r.boolean(n, "subscribable")
		if fl.subscribablePos == nil {
			fl.subscribablePos = map[string]Pos{}
		}
		fl.subscribablePos[name] = r.pos(n)
	}
	stepsNode := fields["steps"]
	if stepsNode == nil {
		r.errorf(root, "flow %q has no steps", name)
		return nil
	}
	if stepsNode.Kind != yaml.MappingNode {
		r.errorf(stepsNode, "steps should be a group of named steps, not %s", describe(stepsNode))
		return nil
	}
	for i := 0; i+1 < len(stepsNode.Content); i += 2 {
		k, v := stepsNode.Content[i], stepsNode.Content[i+1]
		if !nameRe.MatchString(k.Value) {
			r.errorf(k, "step name %q should use only small letters a–z, digits and _", k.Value)
			continue
		}
		if _, dup := f.Steps[k.Value]; dup {
			r.errorf(k, "step %q is defined twice in this flow", k.Value)
			continue
		}
		before := len(*r.diags)
		s := fl.loadStep(r, f.Name, k, v)
		if s == nil {
			// Keep the name, so that what leads here is not reported too.
			s = &Step{Name: k.Value, Kind: KindMessage, Pos: r.pos(k)}
			fl.markBroken(s)
		} else if len(*r.diags) > before {
			fl.markBroken(s)
		}
		f.Steps[s.Name] = s
		f.Order = append(f.Order, s.Name)
	}
	if len(f.Order) == 0 {
		r.errorf(stepsNode, "flow %q has no steps", name)
		return nil
	}
	f.Start = f.Order[0]
	if n := fields["start"]; n != nil {
		if s, ok := r.str(n, "start"); ok {
			if f.Steps[s] == nil {
				r.errorf(n, "start step %q does not exist in flow %q (steps: %s)", s, name, strings.Join(f.Order, ", "))
			} else {
				f.Start = s
			}
		}
	}
	return f
}

// loadLanguages reads a flow's "languages: [sr-Cyrl, en]"; the checker
// tells whether the tags are languages the bot speaks.
func (fl *flowLoader) loadLanguages(r *fileReader, n *yaml.Node) []string {
	var nodes []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{n}
	case yaml.SequenceNode:
		nodes = n.Content
	}
	var tags []string
	for _, t := range nodes {
		if v, ok := r.str(t, "a language tag"); ok && v != "" {
			if slices.Contains(tags, v) {
				r.errorf(t, "language %q is listed twice", v)
				continue
			}
			tags = append(tags, v)
		}
	}
	if len(tags) == 0 {
		r.errorf(n, "languages should list language tags, like [sr-Cyrl, sr-Latn, en]; leave it out for a flow that serves every language")
	}
	return tags
}

func (fl *flowLoader) loadStep(r *fileReader, flow string, k, n *yaml.Node) *Step {
	what := fmt.Sprintf("step %q", k.Value)
	before := len(*r.diags)
	fields, _ := r.fields(n, what, stepFields...)
	if fields == nil {
		return nil
	}
	misspelt := len(*r.diags) > before // a field was rejected: what it said is unknown
	s := &Step{Name: k.Value, Pos: r.pos(k)}
	// The kind follows from the one field that says what the step does.
	kinds := map[string]Kind{"ask": KindQuestion, "location": KindLocation, "go": KindJump, "end": KindEnd, "referral": KindReferral, "handoff": KindHandoff, "nearest": KindNearest}
	var found []string
	for _, f := range []string{"ask", "location", "go", "end", "referral", "handoff", "nearest"} {
		if fields[f] != nil {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		s.Kind = KindMessage
		if fields["say"] == nil {
			if misspelt {
				return nil // the misspelt field was probably the one that says what the step does
			}
			r.errorf(k, "%s does nothing: give it \"say\", \"ask\", \"location\", \"go\", \"nearest\", \"referral\" or \"handoff\"", what)
			return nil
		}
	case 1:
		s.Kind = kinds[found[0]]
	default:
		r.errorf(k, "%s has both %q and %q; a step does one thing — split it into two steps", what, found[0], found[1])
		return nil
	}
	if sn := fields["say"]; sn != nil {
		switch sn.Kind {
		case yaml.ScalarNode:
			s.Say = []string{sn.Value}
			fl.useID(sn.Value, r.pos(sn), false)
		case yaml.SequenceNode:
			for _, m := range sn.Content {
				if id, ok := r.str(m, "each item of say"); ok {
					s.Say = append(s.Say, id)
					fl.useID(id, r.pos(m), false)
				}
			}
		default:
			r.errorf(sn, "say should be a text name or a list of them")
		}
	}
	str := func(field string) string {
		v, _ := r.str(fields[field], field)
		return v
	}
	s.Count = str("count")
	s.Save = str("save")
	if s.Save != "" && !nameRe.MatchString(s.Save) {
		r.errorf(fields["save"], "variable name %q should use only small letters a–z, digits and _", s.Save)
	}
	if id := str("invalid"); id != "" {
		s.Invalid = id
		fl.useID(id, r.pos(fields["invalid"]), false)
	}
	switch s.Kind {
	case KindQuestion:
		s.Ask = str("ask")
		fl.useID(s.Ask, r.pos(fields["ask"]), false)
		s.Expect = ExpectText
		if e := str("expect"); e != "" {
			s.Expect = Expect(e)
			if !slices.Contains([]Expect{ExpectText, ExpectNumber, ExpectPhone, ExpectChoice}, s.Expect) {
				r.errorf(fields["expect"], "expect should be text, number, phone or choice, not %q", e)
			}
		}
		if s.Save == "" {
			r.errorf(k, "question %q needs \"save: <variable>\" to keep the answer", s.Name)
		}
		fl.loadChoices(r, s, fields["choices"])
	case KindLocation:
		s.Ask = str("location")
		fl.useID(s.Ask, r.pos(fields["location"]), false)
		if s.Save == "" {
			r.errorf(k, "location step %q needs \"save: <variable>\" to keep the location", s.Name)
		}
	case KindJump:
		fl.ref(str("go"), &s.Go, r.pos(fields["go"]), flow)
	case KindEnd:
		if !r.boolean(fields["end"], "end") {
			r.errorf(fields["end"], "write \"end: true\", or remove the line")
		}
	case KindReferral:
		s.Service = str("referral")
	case KindHandoff:
		s.Service = str("handoff")
	case KindNearest:
		fl.loadNearest(r, s, fields)
	}
	for _, only := range []struct {
		field string
		kinds []Kind
	}{
		{"expect", []Kind{KindQuestion}},
		{"choices", []Kind{KindQuestion}},
		{"invalid", []Kind{KindQuestion}},
		{"save", []Kind{KindQuestion, KindLocation}},
		{"buttons", []Kind{KindMessage, KindQuestion, KindLocation, KindHandoff, KindNearest}},
		{"say", []Kind{KindMessage, KindEnd, KindReferral, KindHandoff, KindNearest}},
		{"next", []Kind{KindMessage, KindQuestion, KindLocation, KindReferral}},
		{"from", []Kind{KindNearest}},
		{"item", []Kind{KindNearest}},
		{"limit", []Kind{KindNearest}},
	} {
		if fields[only.field] != nil && !slices.Contains(only.kinds, s.Kind) {
			r.errorf(fields[only.field], "%q does not belong in a %s step", only.field, s.Kind)
		}
	}
	if n := fields["next"]; n != nil {
		fl.ref(str("next"), &s.Next, r.pos(n), flow)
	}
	if bn := fields["buttons"]; bn != nil {
		fl.loadButtons(r, s, bn, flow)
	}
	return s
}

func (fl *flowLoader) loadNearest(r *fileReader, s *Step, fields map[string]*yaml.Node) {
	n := fields["nearest"]
	switch n.Kind {
	case yaml.ScalarNode:
		s.Nearest = []string{n.Value}
	case yaml.SequenceNode:
		for _, k := range n.Content {
			if v, ok := r.str(k, "a place kind"); ok {
				s.Nearest = append(s.Nearest, v)
			}
		}
	default:
		r.errorf(n, "nearest should name a kind of place, like asylum_centre, or a list of them")
	}
	s.From, _ = r.str(fields["from"], "from")
	if s.From == "" {
		r.errorf(n, "step %q needs \"from: <variable>\": the location a location step saved", s.Name)
	}
	s.Item, _ = r.str(fields["item"], "item")
	if s.Item == "" {
		r.errorf(n, "step %q needs \"item: <text name>\": how one place is shown (name, address, distance, map)", s.Name)
	} else {
		fl.useID(s.Item, r.pos(fields["item"]), false)
	}
	s.Limit = 3
	if ln := fields["limit"]; ln != nil {
		v, _ := r.str(ln, "limit")
		if x, err := strconv.Atoi(v); err != nil || x < 1 || x > 10 {
			r.errorf(ln, "limit should be a number from 1 to 10")
		} else {
			s.Limit = x
		}
	}
}

func (fl *flowLoader) loadChoices(r *fileReader, s *Step, n *yaml.Node) {
	if s.Expect != ExpectChoice {
		return
	}
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		r.errorf(firstNonNil(n, nil), "question %q expects a choice: list the answers under \"choices:\"", s.Name)
		return
	}
	seen := map[string]bool{}
	for _, c := range n.Content {
		before := len(*r.diags)
		f, _ := r.fields(c, "a choice", choiceFields...)
		if f == nil {
			continue
		}
		ch := Choice{Pos: r.pos(c)}
		ch.Label, _ = r.str(f["label"], "label")
		ch.Value, _ = r.str(f["value"], "value")
		if ch.Label == "" || ch.Value == "" {
			if len(*r.diags) == before {
				r.errorf(c, "a choice needs a label (text name) and a value (what is saved)")
			}
			continue
		}
		if seen[ch.Value] {
			r.errorf(f["value"], "value %q is used by two choices", ch.Value)
		}
		seen[ch.Value] = true
		fl.ids[ch.Label] = append(fl.ids[ch.Label], idUse{Pos: r.pos(f["label"]), Label: true, Flow: fl.flow})
		s.Choices = append(s.Choices, ch)
	}
}

func firstNonNil(ns ...*yaml.Node) *yaml.Node {
	for _, n := range ns {
		if n != nil {
			return n
		}
	}
	return nil
}

func (fl *flowLoader) loadButtons(r *fileReader, s *Step, n *yaml.Node, flow string) {
	if n.Kind != yaml.SequenceNode {
		r.errorf(n, "buttons should be a list (lines starting with \"- \")")
		return
	}
	for _, bn := range n.Content {
		before := len(*r.diags)
		f, _ := r.fields(bn, "a button", buttonFields...)
		if f == nil {
			continue
		}
		misspelt := len(*r.diags) > before
		b := Button{Pos: r.pos(bn)}
		b.Label, _ = r.str(f["label"], "label")
		if b.Label == "" {
			if !misspelt {
				r.errorf(bn, "a button needs a label (a text name)")
			}
			continue
		}
		set := 0
		if g := f["go"]; g != nil {
			set++
			v, _ := r.str(g, "go")
			fl.ref(v, &b.Go, r.pos(g), flow)
		}
		fl.useID(b.Label, r.pos(f["label"]), false)
		use := &fl.ids[b.Label][len(fl.ids[b.Label])-1]
		use.Label = true
		if b.Go != nil {
			// b.Go is resolved in place later; the use reads it then.
			use.Go = &b.Go
		}
		if u := f["url"]; u != nil {
			set++
			b.URL, _ = r.str(u, "url")
			// Telegram refuses the whole message if one button has another
			// scheme (tel: included): phone numbers go in the text instead.
			if !strings.HasPrefix(b.URL, "https://") && !strings.HasPrefix(b.URL, "tg://") {
				r.errorf(u, "a link must start with https:// (got %q); Telegram does not open tel: links on buttons — write the number in the text, where phones make it tappable", b.URL)
			}
		}
		if a := f["action"]; a != nil {
			set++
			v, _ := r.str(a, "action")
			b.Action = Action(v)
			if !slices.Contains(Actions, b.Action) {
				r.errorf(a, "unknown action %q (actions: menu, language, help, delete, exit)", v)
			}
		}
		if set != 1 {
			if !misspelt {
				r.errorf(bn, "a button needs exactly one of go, url or action")
			}
			continue
		}
		s.Buttons = append(s.Buttons, b)
	}
}

func (fl *flowLoader) ref(raw string, dst **Ref, p Pos, flow string) {
	if raw == "" {
		return
	}
	fl.refs = append(fl.refs, pendingRef{raw: raw, ref: dst, node: p})
	// Resolved later; keep the unresolved flow-relative form for now.
	r := parseRef(raw, flow)
	*dst = &r
	if fl.refPos == nil {
		fl.refPos = map[*Ref]Pos{}
	}
	fl.refPos[&r] = p
}

// resolve checks every step reference now that all flows are known. A bare
// name is a step of the same flow or, failing that, another flow's start.
func (fl *flowLoader) resolve(flows map[string]*Flow, diags *Diags) {
	for _, pr := range fl.refs {
		r := *pr.ref
		if fl.toBrokenFlow(flows, pr.raw, r) {
			*pr.ref = nil // the flow's file was rejected; that error is enough
			continue
		}
		if strings.Contains(pr.raw, "/") {
			f := flows[r.Flow]
			if f == nil {
				diags.errorf(pr.node, "%q: there is no flow %q%s", pr.raw, r.Flow, suggest(r.Flow, flowNames(flows)))
				*pr.ref = nil
				continue
			}
			if r.Step == "" {
				r.Step = f.Start
			} else if f.Steps[r.Step] == nil {
				diags.errorf(pr.node, "%q: flow %q has no step %q%s", pr.raw, r.Flow, r.Step, suggest(r.Step, f.Order))
				*pr.ref = nil
			}
			continue
		}
		f := flows[r.Flow]
		if f != nil && f.Steps[r.Step] != nil {
			if other := flows[r.Step]; other != nil && other != f {
				diags.warnf(pr.node, "%q is both a step here and a flow; this goes to the step — write %q for the flow", pr.raw, pr.raw+"/")
			}
			continue
		}
		if other := flows[r.Step]; other != nil {
			r.Flow, r.Step = other.Name, other.Start
			continue
		}
		var steps []string
		if f != nil {
			steps = f.Order
		}
		diags.errorf(pr.node, "%q is neither a step of this flow nor a flow%s", pr.raw, suggest(r.Step, append(slices.Clone(steps), flowNames(flows)...)))
		*pr.ref = nil
	}
}

// toBrokenFlow reports a reference to a flow whose file was rejected.
func (fl *flowLoader) toBrokenFlow(flows map[string]*Flow, raw string, r *Ref) bool {
	if strings.Contains(raw, "/") {
		return flows[r.Flow] == nil && fl.brokenFlows[r.Flow]
	}
	f := flows[r.Flow]
	return (f == nil || f.Steps[r.Step] == nil) && flows[r.Step] == nil && fl.brokenFlows[r.Step]
}

func flowNames(flows map[string]*Flow) []string {
	names := make([]string, 0, len(flows))
	for n := range flows {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func suggest(s string, names []string) string {
	if c := closest(s, names); c != "" {
		return fmt.Sprintf(" — did you mean %q?", c)
	}
	return ""
}
