package graph

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"putokaz/internal/content"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/golden"
)

// defaultContent is the content built into the binary. Lenient like
// `putokaz graph`: the diagram does not depend on every translation.
func defaultContent(t *testing.T) *content.Content {
	t.Helper()
	c, diags := content.LoadLenient(content.Embedded())
	if c == nil {
		t.Fatalf("default content does not load:\n%v", diags)
	}
	return c
}

// TestGolden compares diagrams of the default content with testdata. After
// a content change: go test ./internal/graph -update, then read the diff.
func TestGolden(t *testing.T) {
	c := defaultContent(t)
	cases := []struct {
		file, flow, lang string
		highlight        content.Ref
	}{
		{"all.en.mmd", "", "en", content.Ref{}},
		{"voluntary_return.en.mmd", "voluntary_return", "en", content.Ref{Flow: "voluntary_return", Step: "how"}},
		{"shelter.sr-Latn.mmd", "shelter", "sr-Latn", content.Ref{Flow: "main", Step: "menu"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := Mermaid(c, tc.flow, tc.lang, tc.highlight)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.file), got, "go test ./internal/graph -update")
		})
	}
}

// diagram is what a Mermaid flowchart declares, read back from the text.
type diagram struct {
	nodes     map[string]string // ID → shape and label
	subgraphs map[string]bool
	edges     []edgeLine
	classes   map[string][]string // class → node IDs
}

type edgeLine struct {
	from, to, label string
	dashed          bool
}

var (
	idRe       = `[A-Za-z][A-Za-z0-9_]*`
	nodeLineRe = regexp.MustCompile(`^\s+(` + idRe + `)([\[\(\{>].*)$`)
	edgeLineRe = regexp.MustCompile(`^\s+(` + idRe + `) (-->|-\.->)(?:\|"([^"]*)"\|)? (` + idRe + `)$`)
	subgraphRe = regexp.MustCompile(`^\s+subgraph (` + idRe + `) \["[^"]*"\]$`)
	classRe    = regexp.MustCompile(`^\s+class ([A-Za-z0-9_,]+) (\w+)$`)
)

// parse reads every line of a diagram and fails on any line it does not
// recognise, so the tests notice syntax the renderer would choke on.
func parse(t *testing.T, s string) diagram {
	t.Helper()
	d := diagram{nodes: map[string]string{}, subgraphs: map[string]bool{}, classes: map[string][]string{}}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if lines[0] != "flowchart TD" {
		t.Fatalf("first line %q, want flowchart TD", lines[0])
	}
	for i, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "%% "), strings.TrimSpace(l) == "end", strings.TrimSpace(l) == "direction TB",
			strings.HasPrefix(l, "  classDef "), strings.HasPrefix(l, "  style "):
		case subgraphRe.MatchString(l):
			d.subgraphs[subgraphRe.FindStringSubmatch(l)[1]] = true
		case edgeLineRe.MatchString(l):
			m := edgeLineRe.FindStringSubmatch(l)
			d.edges = append(d.edges, edgeLine{from: m[1], to: m[4], label: m[3], dashed: m[2] == "-.->"})
		case classRe.MatchString(l):
			m := classRe.FindStringSubmatch(l)
			d.classes[m[2]] = append(d.classes[m[2]], strings.Split(m[1], ",")...)
		case nodeLineRe.MatchString(l):
			m := nodeLineRe.FindStringSubmatch(l)
			if _, dup := d.nodes[m[1]]; dup {
				t.Errorf("line %d: node %s declared twice", i+2, m[1])
			}
			d.nodes[m[1]] = m[2]
			// Inside the label only the quotes that delimit it may appear.
			label := m[2][strings.Index(m[2], `"`)+1 : strings.LastIndex(m[2], `"`)]
			if strings.ContainsAny(label, "\"|[]{}") {
				t.Errorf("line %d: unescaped character in label %q", i+2, label)
			}
		default:
			t.Errorf("line %d: not a line this package writes: %q", i+2, l)
		}
	}
	return d
}

// TestDefaultContentStructure checks the full diagram against the content
// itself: a node per step, an edge per button, next and jump, every edge
// between declared nodes.
func TestDefaultContentStructure(t *testing.T) {
	c := defaultContent(t)
	out, err := Mermaid(c, "", "en", content.Ref{})
	if err != nil {
		t.Fatal(err)
	}
	d := parse(t, out)
	wantEdges := 0
	for _, name := range c.FlowOrder {
		f := c.Flows[name]
		if !d.subgraphs["F_"+name] {
			t.Errorf("no subgraph for flow %s", name)
		}
		for sname, st := range f.Steps {
			id := name + "__" + sname
			if _, ok := d.nodes[id]; !ok {
				t.Errorf("no node %s", id)
			}
			if NodeID(c, content.Ref{Flow: name, Step: sname}) != id {
				t.Errorf("NodeID(%s/%s) = %q", name, sname, NodeID(c, content.Ref{Flow: name, Step: sname}))
			}
			if st.Next != nil {
				wantEdges++
			}
			if st.Go != nil {
				wantEdges++
			}
			wantEdges += len(st.Buttons)
			if (st.Kind == content.KindReferral || st.Kind == content.KindHandoff) && !strings.HasPrefix(d.nodes[id], "{{") {
				t.Errorf("%s is a %s but drawn as %s", id, st.Kind, d.nodes[id])
			}
		}
	}
	if len(d.edges) != wantEdges {
		t.Errorf("%d edges, want %d (one per button, next and go)", len(d.edges), wantEdges)
	}
	for _, e := range d.edges {
		for _, id := range []string{e.from, e.to} {
			if _, ok := d.nodes[id]; !ok {
				t.Errorf("edge %s → %s: node %s is not declared", e.from, e.to, id)
			}
		}
	}
	// The emergency flow's steps carry the emergency class.
	em := c.Flows[c.Emergency]
	for sname := range em.Steps {
		if !contains(d.classes["emergency"], c.Emergency+"__"+sname) {
			t.Errorf("emergency step %s not styled", sname)
		}
	}
	if !strings.Contains(out, "  style F_"+c.Emergency+" ") {
		t.Error("emergency subgraph not styled")
	}
	// No stubs when every flow is drawn: each target is a real node.
	if len(d.classes["stub"]) > 0 {
		t.Errorf("stubs in the full diagram: %v", d.classes["stub"])
	}
	if len(d.classes["current"]) > 0 {
		t.Error("a current step without a highlight")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestFixtureShapesEdgesAndHighlight(t *testing.T) {
	c := contenttest.Load(t)
	out, err := Mermaid(c, "main", "en", content.Ref{Flow: "sos", Step: "numbers"})
	if err != nil {
		t.Fatal(err)
	}
	d := parse(t, out)
	shapes := map[string]string{
		"main__menu":  `["▶ menu (message)<br/>Choose a topic."]`,
		"main__ask":   `[/"ask (question)<br/>What is your name?"/]`,
		"main__echo":  `(["echo (end)<br/>Hello, #123;#123;.name#125;#125;."])`,
		"main__refer": `{{"refer (referral)<br/>service: svc – Test service"}}`,
		"main__talk":  `{{"talk (handoff)<br/>Connecting you to staff.<br/>service: svc – Test service"}}`,
		"main__where": `[/"where (location)<br/>Share your location."\]`,
		"main__near":  `[("near (nearest)<br/>nearest: centre")]`,
		// Only main is drawn: the emergency flow it leads to is a stub.
		"sos__numbers":    `[["↗ sos/numbers<br/>SOS"]]`,
		"L_main__menu__6": `>"🔗 Website<br/>example.org"]`,
	}
	for id, want := range shapes {
		if got := d.nodes[id]; got != want {
			t.Errorf("node %s:\n got  %s\n want %s", id, got, want)
		}
	}
	has := func(want edgeLine) {
		t.Helper()
		for _, e := range d.edges {
			if e == want {
				return
			}
		}
		t.Errorf("no edge %+v in\n%s", want, out)
	}
	has(edgeLine{"main__menu", "main__ask", "Ask me", false})            // a button in the flow
	has(edgeLine{"main__menu", "sos__numbers", "Help", true})            // a button out of the flow
	has(edgeLine{"main__ask", "main__echo", "", false})                  // next
	has(edgeLine{"main__menu", "L_main__menu__6", "", true})             // a URL button
	has(edgeLine{"main__ask", "main__menu", "EN common.btn.menu", true}) // menu action → main start
	if got := d.classes["current"]; len(got) != 1 || got[0] != "sos__numbers" {
		t.Errorf("current = %v, want the stub sos__numbers", got)
	}
	if got := d.classes["stub"]; len(got) != 1 || got[0] != "sos__numbers" {
		t.Errorf("stubs = %v", got)
	}
	if !contains(d.classes["service"], "main__refer") || !contains(d.classes["service"], "main__talk") {
		t.Errorf("service class = %v", d.classes["service"])
	}

	// A highlight that is not drawn (or does not exist) adds nothing.
	for _, r := range []content.Ref{{Flow: "main", Step: "gone"}, {Flow: "nope", Step: "x"}} {
		out, err := Mermaid(c, "sos", "en", r)
		if err != nil {
			t.Fatal(err)
		}
		if len(parse(t, out).classes["current"]) != 0 {
			t.Errorf("highlight %v marked", r)
		}
	}
}

func TestLanguageOfLabels(t *testing.T) {
	c := contenttest.Load(t)
	out, err := Mermaid(c, "main", "fa", content.Ref{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`subgraph F_main ["main: منو"]`, `|"بپرس"|`, "اسم شما چیست؟"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in\n%s", want, out)
		}
	}
	// Direction isolates around numbers mean nothing in a diagram.
	out, _ = Mermaid(c, "sos", "fa", content.Ref{})
	if !strings.Contains(out, "<br/>پلیس 192\"]") {
		t.Errorf("isolates not removed:\n%s", out)
	}
}

func TestUnknownFlow(t *testing.T) {
	c := contenttest.Load(t)
	_, err := Mermaid(c, "nope", "en", content.Ref{})
	if !errors.Is(err, ErrUnknownFlow) || !strings.Contains(err.Error(), "main, sos") {
		t.Fatalf("err = %v", err)
	}
}

// Names with "__" could make two steps' IDs equal; the later one gets a
// suffix, and both stay distinct and stable.
func TestIDCollisions(t *testing.T) {
	files := contenttest.Files()
	dir := contenttest.Write(t, map[string]string{
		"flows/a.yaml":    "flow: a\ntitle: main.title\nstart: b__c\nsteps:\n  b__c:\n    say: main.menu\n    buttons:\n      - { label: main.btn.ask, go: a__b/c }\n",
		"flows/a__b.yaml": "flow: a__b\ntitle: main.title\nstart: c\nsteps:\n  c:\n    say: main.menu\n    buttons:\n      - { label: main.btn.ask, go: a/b__c }\n",
		"flows/main.yaml": strings.Replace(files["flows/main.yaml"], "      - { label: main.btn.sos, go: sos }\n",
			"      - { label: main.btn.sos, go: sos }\n      - { label: main.btn.sos, go: a }\n      - { label: main.btn.sos, go: a__b }\n", 1),
	})
	c, diags := content.LoadLenient(content.Dir(dir))
	if c == nil {
		t.Fatalf("fixture: %v", diags)
	}
	first, second := NodeID(c, content.Ref{Flow: "a", Step: "b__c"}), NodeID(c, content.Ref{Flow: "a__b", Step: "c"})
	if first != "a__b__c" || second != "a__b__c_2" {
		t.Fatalf("IDs %q, %q", first, second)
	}
	out, err := Mermaid(c, "", "en", content.Ref{})
	if err != nil {
		t.Fatal(err)
	}
	d := parse(t, out)
	if !strings.Contains(d.nodes[first], "b__c (message)") || !strings.Contains(d.nodes[second], `"▶ c (message)`) {
		t.Errorf("nodes: %q, %q", d.nodes[first], d.nodes[second])
	}
}

func TestEscape(t *testing.T) {
	cases := map[string]string{
		`plain text`:               `plain text`,
		`say "hi"`:                 `say #quot;hi#quot;`,
		`a|b`:                      `a#124;b`,
		`[x] {y} (z)`:              `#91;x#93; #123;y#125; (z)`,
		`#1; #quot;`:               `#35;1#59; #35;quot#59;`,
		`<b>&amp;</b>`:             `#lt;b#gt;#amp;amp#59;#lt;/b#gt;`,
		"`md`":                     `#96;md#96;`,
		`پلیس`:                     `پلیس`,
		`--> end; subgraph x %% y`: `--#gt; end#59; subgraph x %% y`,
	}
	for in, want := range cases {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlainAndShorten(t *testing.T) {
	if got := Plain("<b>Title</b>\n\nCall \u2066192\u2069 &amp; go  now\n"); got != "Title · Call 192 & go now" {
		t.Errorf("Plain = %q", got)
	}
	long := strings.Repeat("é", LabelLen+5)
	got := shorten(long)
	if n := len([]rune(got)); n != LabelLen || !strings.HasSuffix(got, "…") {
		t.Errorf("shorten: %d runes %q", n, got)
	}
	if got := shorten(strings.Repeat("x", LabelLen)); got != strings.Repeat("x", LabelLen) {
		t.Errorf("a label of exactly LabelLen was cut: %q", got)
	}
	if got := shorten(strings.Repeat("ab ", 20)); strings.Contains(got, " …") {
		t.Errorf("space before the ellipsis: %q", got)
	}
}
