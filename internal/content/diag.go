package content

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity says whether a problem stops the content from being used.
type Severity int

const (
	// Error: the content cannot be used until it is fixed.
	Error Severity = iota
	// Warning: suspicious but legal; the content still works.
	Warning
)

// Diag is one problem found in the content, with a sentence an editor who is
// not a programmer can act on.
type Diag struct {
	Pos      Pos
	Severity Severity
	Msg      string
	// missingText marks "text missing in a language" errors, and
	// translation marks "translation does not match its source" errors:
	// the translators' tools tolerate both.
	missingText bool
	translation bool
}

// String formats the problem as "file:line:col: sentence" (warnings say so).
func (d Diag) String() string {
	if d.Severity == Warning {
		return fmt.Sprintf("%s: warning: %s", d.Pos, d.Msg)
	}
	return fmt.Sprintf("%s: %s", d.Pos, d.Msg)
}

// Diags is a list of problems.
type Diags []Diag

// HasErrors reports whether any problem is an error.
func (ds Diags) HasErrors() bool {
	return slices.ContainsFunc(ds, func(d Diag) bool { return d.Severity == Error })
}

// Errors returns only the errors.
func (ds Diags) Errors() Diags {
	return slices.DeleteFunc(slices.Clone(ds), func(d Diag) bool { return d.Severity != Error })
}

// Sort orders problems by file, line and column so output is stable.
func (ds Diags) Sort() {
	slices.SortStableFunc(ds, func(a, b Diag) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col), cmp.Compare(a.Msg, b.Msg))
	})
}

func (ds *Diags) errorf(p Pos, format string, args ...any) {
	*ds = append(*ds, Diag{Pos: p, Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

func (ds *Diags) warnf(p Pos, format string, args ...any) {
	*ds = append(*ds, Diag{Pos: p, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
}
