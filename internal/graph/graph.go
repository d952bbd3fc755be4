// Package graph draws content flows as a Mermaid flowchart, so editors can
// see a topic's shape (steps, buttons, jumps, referrals) at a glance: printed
// by `putokaz graph` and rendered by the playground with the person's current
// step highlighted.
//
// The drawing conventions:
//
//   - one subgraph per flow; a node per step labelled "step (kind)" and the
//     beginning of the step's first text; ▶ marks the flow's start;
//   - node shapes by kind: message [ ], question [/ /], location [/ \],
//     jump (( )), end ([ ]), nearest [( )], referral and handoff {{ }} (with
//     the service), another flow's step [[ ]] (a stub, when drawing one flow);
//   - solid arrows stay inside a flow (labelled with the button's text, or
//     unlabelled for "next"); dashed arrows leave it (a button into another
//     flow, a go: jump, a menu button back to the main menu);
//   - URL buttons point at their own link node; the language, help and delete
//     actions at one shared node each.
//
// A step's node ID is "flow__step" (Mermaid-safe because flow and step names
// are [a-z][a-z0-9_]*), the same whether one flow or all are drawn, so a
// caller can find a step's node (NodeID) without parsing the diagram.
package graph

import (
	"errors"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"putokaz/internal/content"
)

// LabelLen is how many characters of a step's text a node shows.
const LabelLen = 40

// ErrUnknownFlow is returned (wrapped) when the flow to draw does not exist.
var ErrUnknownFlow = errors.New("unknown flow")

// Mermaid draws the flows of c as a Mermaid flowchart. flow names the one
// flow to draw ("" for all; the flows it leads to appear as stub nodes);
// lang is the language of the labels (texts missing in it fall back to the
// default language); highlight, when it names a step that is drawn, is
// marked with the class "current".
func Mermaid(c *content.Content, flow, lang string, highlight content.Ref) (string, error) {
	if c == nil || len(c.Flows) == 0 {
		return "", errors.New("mermaid: no content")
	}
	if flow != "" && c.Flows[flow] == nil {
		return "", fmt.Errorf("mermaid: %w %q (flows: %s)", ErrUnknownFlow, flow, strings.Join(c.FlowOrder, ", "))
	}
	if lang == "" {
		lang = content.DefaultLanguage
	}
	d := &drawer{c: c, lang: lang, ids: newIDs(c)}
	d.draw(flow, highlight)
	return d.b.String(), nil
}

// NodeID is the Mermaid node ID of a step in a diagram of c ("" if the step
// does not exist).
func NodeID(c *content.Content, r content.Ref) string {
	if c.Step(r) == nil {
		return ""
	}
	return newIDs(c).step(r)
}

type drawer struct {
	c    *content.Content
	lang string
	ids  *ids
	b    strings.Builder

	// actions and stubs are the nodes drawn outside the flows' subgraphs.
	actions map[content.Action]bool
	stubs   map[content.Ref]bool
	// classes lists node IDs per class, in drawing order.
	classes map[string][]string
	// nodes is every node and subgraph ID declared so far.
	nodes map[string]bool
}

// order puts the main menu first (where every conversation starts) and then
// the flows in name order.
func order(c *content.Content) []string {
	out := make([]string, 0, len(c.FlowOrder))
	if c.Flows[content.HomeFlow] != nil {
		out = append(out, content.HomeFlow)
	}
	for _, name := range c.FlowOrder {
		if name != content.HomeFlow {
			out = append(out, name)
		}
	}
	return out
}

func (d *drawer) draw(only string, highlight content.Ref) {
	d.actions = map[content.Action]bool{}
	d.stubs = map[content.Ref]bool{}
	d.classes = map[string][]string{}
	d.nodes = map[string]bool{}
	d.line("flowchart TD")
	if only == "" {
		d.line("%% Putokaz flows. Solid arrows stay in a flow; dashed arrows leave it.")
	} else {
		d.line("%% Putokaz flow " + only + ". Solid arrows stay in the flow; dashed arrows leave it.")
	}
	var edges []string
	for _, name := range order(d.c) {
		if only != "" && name != only {
			continue
		}
		edges = append(edges, d.flow(d.c.Flows[name], only != "")...)
	}
	d.extraNodes()
	for _, e := range edges {
		d.line(e)
	}
	d.styles(highlight)
}

// node declares a node (ID and shape) at an indentation.
func (d *drawer) node(indent, id, shape string) {
	d.nodes[id] = true
	d.line(indent + id + shape)
}

func (d *drawer) line(s string) {
	d.b.WriteString(s)
	d.b.WriteByte('\n')
}

// flow writes the flow's subgraph and returns its edges, which are written
// after every node so that a node is always declared inside its own subgraph
// before an edge mentions it (Mermaid places a node where it first appears).
func (d *drawer) flow(f *content.Flow, single bool) []string {
	title := f.Name
	if t := d.text(f.Title); t != "" {
		title += ": " + shorten(t)
	}
	if len(f.Languages) > 0 {
		// A flow for some languages: say which, so editors see why
		// readers of others never reach it.
		title += " (only " + strings.Join(f.Languages, ", ") + ")"
	}
	d.nodes[d.ids.flow(f.Name)] = true
	d.line("  subgraph " + d.ids.flow(f.Name) + " [" + quote(title) + "]")
	d.line("    direction TB")
	var edges []string
	for _, name := range stepOrder(f) {
		st := f.Steps[name]
		r := content.Ref{Flow: f.Name, Step: name}
		id := d.ids.step(r)
		d.node("    ", id, shape(st.Kind, d.stepLabel(f, st)))
		if f.Emergency {
			d.classes["emergency"] = append(d.classes["emergency"], id)
		}
		if st.Kind == content.KindReferral || st.Kind == content.KindHandoff {
			d.classes["service"] = append(d.classes["service"], id)
		}
		edges = append(edges, d.stepEdges(f, st, id, single)...)
	}
	d.line("  end")
	return edges
}

// stepOrder is the file order (what the editor sees) with anything missing
// from Order (content built in code) appended in name order.
func stepOrder(f *content.Flow) []string {
	out := slices.Clone(f.Order)
	var rest []string
	for name := range f.Steps {
		if !slices.Contains(out, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

func (d *drawer) stepEdges(f *content.Flow, st *content.Step, id string, single bool) []string {
	var out []string
	to := func(target content.Ref, label string, dashed bool) {
		tid := d.ids.step(target)
		if tid == "" {
			return // the checker rejects dangling references; draw what exists
		}
		if target.Flow != f.Name {
			dashed = true
			if single {
				d.stubs[target] = true
			}
		}
		out = append(out, edge(id, tid, label, dashed))
	}
	if st.Next != nil {
		to(*st.Next, "", false)
	}
	if st.Go != nil {
		to(*st.Go, "", true)
	}
	for i, b := range st.Buttons {
		label := d.text(b.Label)
		switch {
		case b.Go != nil:
			to(*b.Go, label, false)
		case b.URL != "":
			lid := d.ids.link(content.Ref{Flow: f.Name, Step: st.Name}, i)
			d.node("    ", lid, ">"+quoteEscaped(escape(shorten("🔗 "+label))+"<br/>"+host(b.URL))+"]")
			d.classes["link"] = append(d.classes["link"], lid)
			out = append(out, edge(id, lid, "", true))
		case b.Action == content.ActionMenu && d.c.Flows[content.HomeFlow] != nil:
			to(d.c.Home(), label, true)
		case b.Action != "":
			d.actions[b.Action] = true
			out = append(out, edge(id, d.ids.action(b.Action), label, true))
		}
	}
	return out
}

// extraNodes declares the nodes outside the flows' subgraphs: other flows'
// steps when one flow is drawn, and the shared action nodes.
func (d *drawer) extraNodes() {
	stubs := make([]content.Ref, 0, len(d.stubs))
	for r := range d.stubs {
		stubs = append(stubs, r)
	}
	slices.SortFunc(stubs, func(a, b content.Ref) int { return strings.Compare(a.String(), b.String()) })
	for _, r := range stubs {
		label := escape("↗ " + r.String())
		if f := d.c.Flows[r.Flow]; f != nil {
			if t := d.text(f.Title); t != "" {
				label += "<br/>" + escape(shorten(t))
			}
		}
		id := d.ids.step(r)
		d.node("  ", id, "[["+quoteEscaped(label)+"]]")
		d.classes["stub"] = append(d.classes["stub"], id)
	}
	for _, a := range content.Actions {
		if !d.actions[a] {
			continue
		}
		id := d.ids.action(a)
		d.node("  ", id, "(["+quote("⚙ "+actionLabel[a])+"])")
		d.classes["action"] = append(d.classes["action"], id)
	}
}

// actionLabel says what an action button does, in the diagram's words.
var actionLabel = map[content.Action]string{
	content.ActionMenu:     "main menu",
	content.ActionLanguage: "language picker",
	content.ActionHelp:     "help text",
	content.ActionDelete:   "erase my data",
	content.ActionExit:     "quick exit",
}

// classDefs are the styles, in the order they are written (later wins when
// a node has two classes: "current" must stay last).
var classDefs = []struct{ name, style string }{
	{"emergency", "fill:#fde8e8,stroke:#c62828,color:#5d0000"},
	{"service", "fill:#e8f0fe,stroke:#1a56db,color:#0b2a6b"},
	{"link", "fill:#f3f4f6,stroke:#6b7280,stroke-dasharray:3 3"},
	{"action", "fill:#f3f4f6,stroke:#6b7280"},
	{"stub", "fill:#ffffff,stroke:#9ca3af,stroke-dasharray:4 4,color:#4b5563"},
	{"current", "fill:#fff3b0,stroke:#f59e0b,stroke-width:4px"},
}

func (d *drawer) styles(highlight content.Ref) {
	for _, cd := range classDefs {
		d.line("  classDef " + cd.name + " " + cd.style)
	}
	for _, cd := range classDefs {
		if ids := d.classes[cd.name]; len(ids) > 0 {
			d.line("  class " + strings.Join(ids, ",") + " " + cd.name)
		}
	}
	if f := d.c.Flows[d.c.Emergency]; f != nil && d.nodes[d.ids.flow(f.Name)] {
		d.line("  style " + d.ids.flow(f.Name) + " fill:#fff5f5,stroke:#c62828,stroke-width:2px")
	}
	if id := d.ids.step(highlight); id != "" && d.nodes[id] {
		d.line("  class " + id + " current")
	}
}

// stepLabel is "step (kind)" and the start of its first text.
func (d *drawer) stepLabel(f *content.Flow, st *content.Step) string {
	head := st.Name + " (" + string(st.Kind) + ")"
	if st.Name == f.Start {
		head = "▶ " + head
	}
	lines := []string{head}
	switch {
	case len(st.Say) > 0:
		lines = append(lines, d.text(st.Say[0]))
	case st.Ask != "":
		lines = append(lines, d.text(st.Ask))
	}
	if st.Service != "" {
		svc := "service: " + st.Service
		if s := d.c.Directory; s != nil && s.Services[st.Service] != nil {
			if name := d.text(s.Services[st.Service].Name); name != "" {
				svc += " – " + name
			}
		}
		lines = append(lines, svc)
	}
	if len(st.Nearest) > 0 {
		lines = append(lines, "nearest: "+strings.Join(st.Nearest, ", "))
	}
	for i, l := range lines {
		lines[i] = escape(shorten(l))
	}
	return strings.Join(lines, "<br/>")
}

// text is a message's wording in the diagram's language, plain: tags,
// entities, line breaks and direction marks removed. Unknown: "".
func (d *drawer) text(id string) string {
	if id == "" || d.c.Texts == nil {
		return ""
	}
	forms, _, ok := d.c.Texts.Source(d.lang, id)
	if !ok {
		if forms, _, ok = d.c.Texts.Source(content.DefaultLanguage, id); !ok {
			return ""
		}
	}
	s := forms["other"]
	if s == "" {
		s = forms["one"]
	}
	return Plain(s)
}

var tagRe = regexp.MustCompile(`<[^<>]*>`)

// Plain turns a Telegram HTML text into one line of plain text: tags and
// direction marks dropped, entities decoded, line breaks shown as " · ".
func Plain(s string) string {
	s = html.UnescapeString(tagRe.ReplaceAllString(s, ""))
	var b strings.Builder
	sep := ""
	for _, r := range s {
		switch {
		case r == '\n':
			if b.Len() > 0 {
				sep = " · "
			}
			continue
		case unicode.IsSpace(r):
			if b.Len() > 0 && sep == "" {
				sep = " "
			}
			continue
		case unicode.Is(unicode.Cf, r) || unicode.IsControl(r):
			continue // bidi isolates and marks mean nothing in a diagram
		}
		b.WriteString(sep)
		sep = ""
		b.WriteRune(r)
	}
	return b.String()
}

// shorten keeps the first LabelLen characters, ending with "…" if cut.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= LabelLen {
		return s
	}
	n := 0
	for i := range s {
		if n == LabelLen-1 {
			return strings.TrimRight(s[:i], " ") + "…"
		}
		n++
	}
	return s
}

// mermaidEscaper replaces what would end or confuse a quoted Mermaid label
// with Mermaid's entity codes ("#quot;", or "#" and the decimal code point).
// It runs in one pass, so the "#" it writes is never escaped again.
var mermaidEscaper = strings.NewReplacer(
	`"`, "#quot;",
	"#", "#35;",
	"|", "#124;",
	"[", "#91;",
	"]", "#93;",
	"{", "#123;",
	"}", "#125;",
	"<", "#lt;",
	">", "#gt;",
	"&", "#amp;",
	"`", "#96;",
	";", "#59;",
)

// escape makes content text safe inside a quoted Mermaid label.
func escape(s string) string { return mermaidEscaper.Replace(s) }

// quote escapes a label and wraps it in quotes.
func quote(s string) string { return quoteEscaped(escape(s)) }

// quoteEscaped wraps an already escaped label (one that holds <br/> line
// breaks of its own) in quotes.
func quoteEscaped(s string) string { return `"` + s + `"` }

func shape(k content.Kind, label string) string {
	q := quoteEscaped(label)
	switch k {
	case content.KindQuestion:
		return "[/" + q + "/]"
	case content.KindLocation:
		return "[/" + q + `\]`
	case content.KindJump:
		return "((" + q + "))"
	case content.KindEnd:
		return "([" + q + "])"
	case content.KindNearest:
		return "[(" + q + ")]"
	case content.KindReferral, content.KindHandoff:
		return "{{" + q + "}}"
	default:
		return "[" + q + "]"
	}
}

func edge(from, to, label string, dashed bool) string {
	arrow := "-->"
	if dashed {
		arrow = "-.->"
	}
	if label == "" {
		return "  " + from + " " + arrow + " " + to
	}
	return "  " + from + " " + arrow + "|" + quote(shorten(label)) + "| " + to
}

// host is the part of a URL worth showing in a diagram.
func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return escape(shorten(raw))
	}
	return escape(strings.TrimPrefix(u.Host, "www."))
}

// ids gives every drawn thing a unique, stable Mermaid ID. Steps are
// "flow__step"; subgraphs, link nodes and action nodes start with an
// upper-case letter ("F_shelter", "L_asylum__after__1", "A_help"), which no
// flow or step name has, so they never collide with a step, and a subgraph
// is never named like a Mermaid keyword ("end"). Two steps can only collide
// when a name itself contains "__"; the later one (in drawing order) then
// gets a numeric suffix, so IDs stay stable for the same content.
type ids struct {
	taken map[string]bool
	steps map[content.Ref]string
}

func newIDs(c *content.Content) *ids {
	x := &ids{taken: map[string]bool{}, steps: map[content.Ref]string{}}
	for _, name := range order(c) {
		for _, s := range stepOrder(c.Flows[name]) {
			x.steps[content.Ref{Flow: name, Step: s}] = x.claim(name + "__" + s)
		}
	}
	return x
}

func (x *ids) claim(want string) string {
	id := want
	for n := 2; x.taken[id]; n++ {
		id = want + "_" + strconv.Itoa(n)
	}
	x.taken[id] = true
	return id
}

func (x *ids) flow(name string) string   { return "F_" + name }
func (x *ids) step(r content.Ref) string { return x.steps[r] }
func (x *ids) link(r content.Ref, i int) string {
	return "L_" + x.steps[r] + "__" + strconv.Itoa(i+1)
}
func (x *ids) action(a content.Action) string { return "A_" + string(a) }
