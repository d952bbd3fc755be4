package content

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Facts (phone numbers, addresses, hours, rules) carry their source in a
// YAML comment, with the date someone last checked them against it:
//
//	# ASTRA SOS line +381 11 785 0000 — source: astra.org.rs/eng/ checked: 2026-12-02
//
// A fact comment is a comment block (comment lines one after another, or a
// comment at the end of a line) that says "source:" or "sources:", "checked:"
// or "verify". The check warns when a fact was checked more than
// FactMaxAge ago, or its date cannot be read; fact comments with no date at
// all are counted in one warning per file.

// FactMaxAge is how long a checked fact stays trusted.
const FactMaxAge = 6 // months

var (
	factRe    = regexp.MustCompile(`(?i)\bsources?:|\bchecked:|\bverify\b`)
	checkedRe = regexp.MustCompile(`(?i)\bchecked:\s*([^\s,;)]*)`)
	verifyRe  = regexp.MustCompile(`(?i)\bverify\b`)
	// blockScalarRe ends a line that starts a block scalar ("key: |-", "- >").
	blockScalarRe = regexp.MustCompile(`(?:^|[:\-?]\s)\s*[|>][0-9+\-]*$`)
)

// comment is one comment, with the position of its "#".
type comment struct {
	text string
	line int
	col  int
}

// fileComments returns a YAML file's comment blocks: consecutive comment
// lines form one block; a comment after a value on the same line is a block
// of its own. Text inside block scalars (|, >) is not a comment.
func fileComments(data string) [][]comment {
	var blocks [][]comment
	var cur []comment
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	inBlock, blockIndent := false, 0
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		indent := len(line) - len(trimmed)
		if inBlock {
			if trimmed == "" || indent > blockIndent {
				continue
			}
			inBlock = false
		}
		switch {
		case trimmed == "":
			flush()
		case trimmed[0] == '#':
			cur = append(cur, comment{text: trimmed, line: i + 1, col: utf8.RuneCountInString(line[:indent]) + 1})
		default:
			flush()
			value := line
			if at := commentStart(line); at >= 0 {
				blocks = append(blocks, []comment{{text: line[at:], line: i + 1, col: utf8.RuneCountInString(line[:at]) + 1}})
				value = line[:at]
			}
			if blockScalarRe.MatchString(strings.TrimRight(value, " \t")) {
				inBlock, blockIndent = true, indent
			}
		}
	}
	flush()
	return blocks
}

// commentStart finds the "#" that starts a comment after a value, outside
// quotes; -1 when there is none.
func commentStart(line string) int {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			if i == 0 || strings.ContainsRune(" \t:[{,-", rune(line[i-1])) {
				quote = c
			}
		case c == '#' && i > 0 && (line[i-1] == ' ' || line[i-1] == '\t'):
			return i
		}
	}
	return -1
}

// checkFacts reads the comments of every flow and locale file.
func checkFacts(src Source, diags *Diags) {
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	today := now()
	for _, d := range []struct {
		fsys fs.FS
		dir  string
	}{{src.Flows, src.FlowsDir}, {src.Locales, src.LocalesDir}} {
		if d.fsys == nil {
			continue
		}
		files, _ := fs.Glob(d.fsys, "*.yaml")
		for _, f := range files {
			if strings.HasPrefix(f, ".") || strings.HasPrefix(f, "#") {
				continue
			}
			data, err := readLimited(d.fsys, f)
			if err != nil || !utf8.Valid(data) {
				continue // reported where the file is read
			}
			factsOfFile(path.Join(d.dir, f), string(data), today, diags)
		}
	}
}

func factsOfFile(file, data string, now time.Time, diags *Diags) {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	oldest := today.AddDate(0, -FactMaxAge, 0)
	var undated []comment
	verifyUndated := 0
	for _, block := range fileComments(data) {
		var first *comment // the first line that makes the block a fact comment
		dated, verify := false, false
		for i, c := range block {
			if first == nil && factRe.MatchString(c.text) {
				first = &block[i]
			}
			verify = verify || verifyRe.MatchString(c.text)
			for _, m := range checkedRe.FindAllStringSubmatchIndex(c.text, -1) {
				p := Pos{File: file, Line: c.line, Col: c.col + utf8.RuneCountInString(c.text[:m[0]])}
				// A date may end a sentence: "checked: 2026-12-02."
				value := strings.TrimRight(c.text[m[2]:m[3]], ".")
				day, err := time.Parse(time.DateOnly, value)
				switch {
				case err != nil:
					diags.warnf(p, "checked: %q is not a date; write it as checked: YYYY-MM-DD (like %s)", value, today.Format(time.DateOnly))
				case day.Before(oldest):
					dated = true
					diags.warnf(p, "this fact was last checked on %s, more than %d months ago: check it against its source again, then update the date", value, FactMaxAge)
				case day.After(today.AddDate(0, 0, 1)):
					dated = true
					diags.warnf(p, "checked: %s is in the future; write the day the fact was checked", value)
				default:
					dated = true
				}
			}
		}
		if first != nil && !dated {
			undated = append(undated, *first)
			if verify {
				verifyUndated++
			}
		}
	}
	if len(undated) == 0 {
		return
	}
	lines := make([]string, len(undated))
	for i, c := range undated {
		lines[i] = strconv.Itoa(c.line)
	}
	marked := ""
	if verifyUndated > 0 {
		marked = fmt.Sprintf(" (%d marked verify)", verifyUndated)
	}
	what := "a fact comment (line " + lines[0] + ") has"
	if len(undated) > 1 {
		what = fmt.Sprintf("%d fact comments (lines %s) have", len(undated), strings.Join(slices.Compact(lines), ", "))
	}
	diags.warnf(Pos{File: file, Line: undated[0].line, Col: undated[0].col},
		"%s no checked: date%s; check each against its source, then add \"checked: %s\" to it",
		what, marked, today.Format(time.DateOnly))
}
