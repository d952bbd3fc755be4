package content

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFileComments(t *testing.T) {
	data := `# head 1
#
# head 3

key: value   # trailing
text: |-
  # not a comment: part of the text
  still text
quoted: "a # b"   # after quotes
list:
  - >
    # folded text
  - item # item comment
  # indented comment
`
	var got []string
	for _, b := range fileComments(data) {
		var lines []string
		for _, c := range b {
			lines = append(lines, strings.Join([]string{c.text, itoa(c.line), itoa(c.col)}, "@"))
		}
		got = append(got, strings.Join(lines, " | "))
	}
	want := []string{
		"# head 1@1@1 | #@2@1 | # head 3@3@1",
		"# trailing@5@14",
		"# after quotes@9@19",
		"# item comment@13@10",
		"# indented comment@14@3",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("comments:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestFactDates(t *testing.T) {
	today := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	data := `# The emergency numbers. Source: mup.gov.rs checked: 2026-11-30
flow: x
steps:
  a:
    # ASTRA SOS line +381 11 785 0000 — astra.org.rs/eng/ (checked: 2026-05-01)
    say: a.text
  b:
    say: b.text   # hours: source: iom.int, checked: 2026-06-02
  b2:
    # Source: a sentence that ends with its date, checked: 2026-12-01.
    say: b2.text
  c:
    # verify: office hours not published
    say: c.text
  d:
    # Sources:
    #   UNHCR help page, checked: last week
    say: d.text
  e:
    say: |-
      # source: inside a text, not a comment
    # notes for editors, not a fact
  f:
    # Source: iom.int (checked: 2027-01-10)
    say: f.text
`
	var diags Diags
	factsOfFile("flows/x.yaml", data, today, &diags)
	got := joinDiags(diags)
	for _, want := range []string{
		"flows/x.yaml:5:60: warning: this fact was last checked on 2026-05-01, more than 6 months ago",
		`flows/x.yaml:17:26: warning: checked: "last" is not a date; write it as checked: YYYY-MM-DD (like 2026-12-02)`,
		"flows/x.yaml:24:24: warning: checked: 2027-01-10 is in the future",
		`flows/x.yaml:13:5: warning: 2 fact comments (lines 13, 16) have no checked: date (1 marked verify); check each against its source, then add "checked: 2026-12-02" to it`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
	if len(diags) != 4 {
		t.Errorf("want 4 warnings (2026-11-30 and 2026-06-02 are recent), got:\n%s", got)
	}
}

func TestFactsUseTheInjectedClock(t *testing.T) {
	f, l := base()
	replace(f, "sos.yaml", "steps:\n", "steps:\n  # Police 192 — source: mup.gov.rs checked: 2026-12-02\n")
	src := Source{Flows: f, Locales: l, FlowsDir: "flows", LocalesDir: "locales"}
	for _, tc := range []struct {
		now  time.Time
		warn bool
	}{
		{time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2027, 6, 3, 0, 0, 0, 0, time.UTC), true},
	} {
		src.Now = func() time.Time { return tc.now }
		c, diags := Load(src)
		if c == nil {
			t.Fatalf("an old fact stopped the content: %v", diags)
		}
		got := joinDiags(diags)
		if warned := strings.Contains(got, "flows/sos.yaml:6:37: warning: this fact was last checked on 2026-12-02"); warned != tc.warn {
			t.Errorf("%s: warned %v, want %v:\n%s", tc.now.Format(time.DateOnly), warned, tc.warn, got)
		}
	}
}
