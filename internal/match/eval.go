package match

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// EvalFile is a labelled set of phrasings (testdata/eval/*.yaml):
//
//	lang: fa
//	cases:
//	  - text: "komak lazem daram baraye panahandegi"
//	    want: [asylum]
//	    kind: romanised
type EvalFile struct {
	Name  string     `yaml:"-"`
	Lang  string     `yaml:"lang"`
	Cases []EvalCase `yaml:"cases"`
}

// EvalCase is one phrasing and the answers acceptable for it: flows (any of
// their steps counts), flow/step, greeting, thanks or emergency.
type EvalCase struct {
	Text string   `yaml:"text"`
	Want []string `yaml:"want"`
	Kind string   `yaml:"kind"`
	Line int      `yaml:"-"`
}

// ReadEvalFiles reads every *.yaml file of dir, sorted by name.
func ReadEvalFiles(dir string) ([]EvalFile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []EvalFile
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("read evaluation set: %w", err)
		}
		f, err := ParseEvalFile(filepath.ToSlash(n), data)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// ParseEvalFile decodes one evaluation set; unknown fields are errors.
func ParseEvalFile(name string, data []byte) (EvalFile, error) {
	var f EvalFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err != io.EOF {
		return f, fmt.Errorf("%s: %w", name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil && len(root.Content) > 0 {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "cases" {
				for j, c := range m.Content[i+1].Content {
					if j < len(f.Cases) {
						f.Cases[j].Line = c.Line
					}
				}
			}
		}
	}
	f.Name = name
	if f.Lang == "" {
		return f, fmt.Errorf("%s:1:1: the set needs \"lang:\", the language the person picked", name)
	}
	for _, c := range f.Cases {
		if strings.TrimSpace(c.Text) == "" || len(c.Want) == 0 {
			return f, fmt.Errorf("%s:%d:1: a case needs text and want", name, c.Line)
		}
	}
	return f, nil
}

// Outcome is how an answer to one case is counted.
type Outcome uint8

const (
	Hit     Outcome = iota // the answer opens an acceptable target
	Offered                // "did you mean" lists an acceptable target
	Miss
)

// Got is what the bot answered, as the evaluation sees it: kind is
// "open", "ask", "nothing", "greeting", "thanks" or "emergency".
type Got struct {
	Kind    string
	Targets []string
}

func (g Got) String() string {
	switch g.Kind {
	case "open":
		return g.Targets[0]
	case "ask":
		return "did-you-mean(" + strings.Join(g.Targets, "|") + ")"
	}
	return g.Kind
}

// Judge counts one answer against the acceptable ones.
func Judge(got Got, want []string) Outcome {
	reaches := func(t, w string) bool {
		if t == w {
			return true
		}
		flow, _, _ := strings.Cut(t, "/")
		return !strings.Contains(w, "/") && flow == w
	}
	switch got.Kind {
	case "greeting", "thanks", "emergency":
		if slices.Contains(want, got.Kind) {
			return Hit
		}
		if got.Kind == "emergency" {
			for _, w := range want {
				if len(got.Targets) > 0 && reaches(got.Targets[0], w) {
					return Hit
				}
			}
		}
	case "open":
		for _, w := range want {
			if reaches(got.Targets[0], w) {
				return Hit
			}
		}
	case "ask":
		for _, t := range got.Targets {
			for _, w := range want {
				if reaches(t, w) {
					return Offered
				}
			}
		}
	}
	return Miss
}

// Tally is a count of cases by outcome.
type Tally struct{ Cases, Hits, Offered int }

// Rate is the share of hits.
func (t Tally) Rate() float64 {
	if t.Cases == 0 {
		return 0
	}
	return float64(t.Hits) / float64(t.Cases)
}

// Confusion is a case that missed.
type Confusion struct {
	File string
	Line int
	Lang string
	Kind string
	Text string
	Want []string
	Got  Got
}

// Report is the result of an evaluation.
type Report struct {
	Total      Tally
	ByLang     map[string]*Tally
	ByKind     map[string]*Tally
	Confusions []Confusion // misses and offers, in file order
}

// Evaluate answers every case with answer and counts the outcomes.
func Evaluate(files []EvalFile, answer func(text string) Got) Report {
	r := Report{ByLang: map[string]*Tally{}, ByKind: map[string]*Tally{}}
	for _, f := range files {
		for _, c := range f.Cases {
			got := answer(c.Text)
			o := Judge(got, c.Want)
			for _, t := range []*Tally{&r.Total, get(r.ByLang, f.Lang), get(r.ByKind, c.Kind)} {
				t.Cases++
				switch o {
				case Hit:
					t.Hits++
				case Offered:
					t.Offered++
				}
			}
			if o != Hit {
				r.Confusions = append(r.Confusions, Confusion{File: f.Name, Line: c.Line, Lang: f.Lang, Kind: c.Kind,
					Text: c.Text, Want: c.Want, Got: got})
			}
		}
	}
	return r
}

func get(m map[string]*Tally, k string) *Tally {
	if k == "" {
		k = "-"
	}
	if m[k] == nil {
		m[k] = &Tally{}
	}
	return m[k]
}

// Write prints the report: hit rate per language and per kind, then every
// confusion as file:line: [lang] "text" → got (want …).
func (r Report) Write(w io.Writer) {
	line := func(name string, t Tally) {
		fmt.Fprintf(w, "  %-18s %4d cases  %5.1f %% hit  %3d offered  %3d missed\n", name, t.Cases, 100*t.Rate(), t.Offered, t.Cases-t.Hits-t.Offered)
	}
	fmt.Fprintln(w, "by language:")
	for _, k := range sortedKeys(r.ByLang) {
		line(k, *r.ByLang[k])
	}
	fmt.Fprintln(w, "by kind:")
	for _, k := range sortedKeys(r.ByKind) {
		line(k, *r.ByKind[k])
	}
	line("overall", r.Total)
	if len(r.Confusions) > 0 {
		fmt.Fprintln(w, "confusions (what went where):")
	}
	for _, c := range r.Confusions {
		fmt.Fprintf(w, "  %s:%d: [%s %s] %q → %s (want %s)\n", c.File, c.Line, c.Lang, c.Kind, c.Text, c.Got, strings.Join(c.Want, " or "))
	}
}

func sortedKeys(m map[string]*Tally) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
