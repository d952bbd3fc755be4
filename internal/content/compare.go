package content

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The translation checks compare every translation with its source text (the
// English one; for Serbian Latin texts written by hand, the Cyrillic one) the
// way translation platforms (Weblate, Translate Toolkit) do: the number of
// lines and list bullets, and every number, phone number, link, e-mail,
// /command, HTML tag and {{.variable}} must be the same. A difference in a
// safety-critical text (locales/safety.yaml) is an error; elsewhere a
// warning.

// features are what must survive translation, read from one text.
type features struct {
	lines, bullets int
	phones         map[string]bool // digits only, with a leading + when dialled so
	numbers        map[string]bool // other numbers, without leading zeros
	urls, emails   map[string]bool
	commands, vars map[string]bool
	tags           map[string]int // "<b>", "</b>", "<a>", ... and how many times
}

var (
	emailRe   = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	urlRe     = regexp.MustCompile(`(?:https?|tg)://[^\s"'<>]+|\bwww\.[^\s"'<>]+`)
	varRe     = regexp.MustCompile(`\{\{-?\s*\.([A-Za-z_][A-Za-z0-9_]*)`)
	actionRe  = regexp.MustCompile(`\{\{.*?\}\}`)
	tagRe     = regexp.MustCompile(`<(/?)([A-Za-z][A-Za-z0-9\-]*)\b[^<>]*>`)
	commandRe = regexp.MustCompile(`(?:^|[^\p{L}\p{N}/:._\-@])/([a-z][a-z0-9_]{0,31})\b`)
	phoneRe   = regexp.MustCompile(`(?:\+|\b00)?\(?\d+\)?(?:[ .\-/]?\(?\d+\)?)+`)
	digitsRe  = regexp.MustCompile(`\d+`)
	keycapRe  = regexp.MustCompile(`[0-9#*]\x{FE0F}?\x{20E3}`)
)

// normalise removes direction marks (U+2066…U+2069 isolates, LRM, RLM, ALM
// and embeddings) and turns Arabic-Indic and Persian digits into 0–9, so
// that "⁦+381 ۱۱⁩" and "+381 11" read the same.
func normalise(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '\u2066' && r <= '\u2069', r >= '\u202A' && r <= '\u202E', r == '\u200E', r == '\u200F', r == '\u061C':
			return -1
		case r >= '٠' && r <= '٩':
			return '0' + (r - '٠')
		case r >= '۰' && r <= '۹':
			return '0' + (r - '۰')
		}
		return r
	}, s)
}

// stripEmoji removes emoji (and keycaps like 1️⃣), which button labels may
// use differently in each language.
func stripEmoji(s string) string {
	s = keycapRe.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.So, r) || r == '\uFE0F' || r == '\u200D' || (r >= 0x1F3FB && r <= 0x1F3FF) {
			return -1
		}
		return r
	}, s)
}

func readFeatures(s string, label bool) features {
	s = normalise(s)
	if label {
		s = stripEmoji(s)
	}
	f := features{phones: map[string]bool{}, numbers: map[string]bool{}, urls: map[string]bool{}, emails: map[string]bool{},
		commands: map[string]bool{}, vars: map[string]bool{}, tags: map[string]int{}}
	body := strings.TrimSpace(s)
	if body != "" {
		f.lines = strings.Count(body, "\n") + 1
	}
	for _, line := range strings.Split(body, "\n") {
		if isBullet(strings.TrimSpace(line)) {
			f.bullets++
		}
	}
	for _, m := range varRe.FindAllStringSubmatch(s, -1) {
		f.vars[m[1]] = true
	}
	s = actionRe.ReplaceAllString(s, " ")
	cut := func(re *regexp.Regexp, fn func(string)) {
		s = re.ReplaceAllStringFunc(s, func(m string) string { fn(m); return " " })
	}
	cut(emailRe, func(m string) { f.emails[strings.ToLower(m)] = true })
	cut(urlRe, func(m string) { f.urls[strings.TrimRight(m, ".,;:!?)»")] = true })
	cut(tagRe, func(m string) {
		sm := tagRe.FindStringSubmatch(m)
		f.tags["<"+sm[1]+strings.ToLower(sm[2])+">"]++
	})
	for _, m := range commandRe.FindAllStringSubmatch(s, -1) {
		f.commands["/"+m[1]] = true
	}
	// A phone number is 8 digits or more, or 6 or more after + (or 00),
	// grouped by spaces, dots, dashes, slashes or brackets; it is compared
	// by its digits. Every other run of digits is a number.
	s = phoneRe.ReplaceAllStringFunc(s, func(m string) string {
		d := strings.Join(digitsRe.FindAllString(m, -1), "")
		intl := strings.HasPrefix(m, "+") || strings.HasPrefix(m, "00")
		if len(d) < 8 && !(intl && len(d) >= 6) {
			return m
		}
		if intl {
			d = "+" + strings.TrimPrefix(d, "00")
		}
		f.phones[d] = true
		return " "
	})
	for _, n := range digitsRe.FindAllString(s, -1) {
		f.numbers[trimZeros(n)] = true
	}
	return f
}

func trimZeros(n string) string {
	if t := strings.TrimLeft(n, "0"); t != "" {
		return t
	}
	return "0"
}

func isBullet(line string) bool {
	for _, b := range []string{"•", "◦", "▪", "‣", "●", "- ", "* "} {
		if strings.HasPrefix(line, b) {
			return true
		}
	}
	return false
}

// compareOptions say what may differ in one pair of texts.
type compareOptions struct {
	// plural form compared with another form of the source (or a form that
	// counts): the number and {{.Count}} may be written out or left out.
	looseCount bool
}

// differences lists, in sentences, what a translation lacks or adds
// compared with its source; srcName names the source language.
func differences(src, tr features, srcName string, opt compareOptions) []string {
	var out []string
	if src.lines != tr.lines {
		out = append(out, fmt.Sprintf("it has %d lines, %s has %d", tr.lines, srcName, src.lines))
	}
	if src.bullets != tr.bullets {
		out = append(out, fmt.Sprintf("it has %d list bullets, %s has %d", tr.bullets, srcName, src.bullets))
	}
	set := func(what string, a, b map[string]bool, show func(string) string) {
		if lack := setMinus(a, b); len(lack) > 0 {
			out = append(out, fmt.Sprintf("it lacks the %s %s", plural(what, len(lack)), joinShown(lack, show)))
		}
		if extra := setMinus(b, a); len(extra) > 0 {
			out = append(out, fmt.Sprintf("it has the %s %s, which %s does not", plural(what, len(extra)), joinShown(extra, show), srcName))
		}
	}
	same := func(s string) string { return s }
	srcVars, trVars := src.vars, tr.vars
	if opt.looseCount {
		srcVars, trVars = without(srcVars, "Count"), without(trVars, "Count")
	}
	set("variable", srcVars, trVars, func(s string) string { return "{{." + s + "}}" })
	set("phone number", src.phones, tr.phones, same)
	if !opt.looseCount {
		set("number", src.numbers, tr.numbers, same)
	}
	set("link", src.urls, tr.urls, same)
	set("e-mail", src.emails, tr.emails, same)
	set("command", src.commands, tr.commands, same)
	return out
}

// tagDifferences lists HTML tags used a different number of times: a
// formatting difference, reported as a warning even in safety-critical texts.
func tagDifferences(src, tr features, srcName string) []string {
	var out []string
	for _, tag := range slices.Sorted(maps.Keys(union(src.tags, tr.tags))) {
		a, b := src.tags[tag], tr.tags[tag]
		if a == b {
			continue
		}
		if strings.HasPrefix(tag, "</") {
			open := "<" + tag[2:]
			if src.tags[open]-a == 0 && tr.tags[open]-b == 0 {
				continue // reported with its opening tag
			}
		} else if closing := "</" + tag[1:]; src.tags[closing] == a && tr.tags[closing] == b {
			tag += "…" + closing
		}
		out = append(out, fmt.Sprintf("it has %s %s, %s has it %s", tag, times(b), srcName, times(a)))
	}
	return out
}

func setMinus(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func without(m map[string]bool, k string) map[string]bool {
	if !m[k] {
		return m
	}
	out := maps.Clone(m)
	delete(out, k)
	return out
}

func union(a, b map[string]int) map[string]int {
	out := maps.Clone(a)
	for k, v := range b {
		out[k] += v
	}
	return out
}

func plural(what string, n int) string {
	if n == 1 {
		return what
	}
	return what + "s"
}

func times(n int) string {
	switch n {
	case 0:
		return "nowhere"
	case 1:
		return "once"
	}
	return strconv.Itoa(n) + " times"
}

func joinShown(items []string, show func(string) string) string {
	shown := make([]string, len(items))
	for i, s := range items {
		shown[i] = show(s)
	}
	return strings.Join(shown, ", ")
}

// isListText reports texts that are lists of words people type (keywords,
// examples), not sentences: they are not compared.
func isListText(id string) bool {
	return strings.HasSuffix(id, ".keywords") || strings.HasSuffix(id, ".examples")
}

// translations compares every written translation with its source text.
func (ck *checker) translations() {
	c := ck.c
	kw := ck.keywordIDs()
	labels := ck.labelIDs()
	for _, l := range c.Languages {
		if l.Tag == DefaultLanguage {
			continue
		}
		for _, id := range c.Texts.IDs(l.Tag) {
			t := c.Texts.byLang[l.Tag][id]
			if t.Generated || kw[id] || isListText(id) {
				continue
			}
			srcLang := DefaultLanguage
			if l.From != "" && c.Texts.Has(l.From, id) {
				srcLang = l.From
			}
			src, ok := c.Texts.byLang[srcLang][id]
			if !ok {
				continue
			}
			srcName := "English"
			if srcLang != DefaultLanguage {
				srcName = "the " + srcLang + " text"
			}
			plural := len(t.Forms) > 1 || len(src.Forms) > 1
			var problems, formatting []string
			for _, form := range pluralKeys {
				s, ok := t.Forms[form]
				if !ok {
					continue
				}
				srcForm, exact := src.Forms[form]
				if !exact {
					srcForm = src.Forms["other"]
				}
				opt := compareOptions{looseCount: plural && (form != "other" || !exact)}
				sf, tf := readFeatures(srcForm, labels[id]), readFeatures(s, labels[id])
				prefix := ""
				if plural {
					prefix = "form " + form + ": "
				}
				if d := differences(sf, tf, srcName, opt); len(d) > 0 {
					problems = append(problems, prefix+strings.Join(d, "; "))
				}
				if d := tagDifferences(sf, tf, srcName); len(d) > 0 {
					formatting = append(formatting, prefix+strings.Join(d, "; "))
				}
			}
			if len(problems) > 0 {
				msg := fmt.Sprintf("text %q in %s does not match %s: %s", id, l.Tag, srcName, strings.Join(problems, "; "))
				if c.IsSafetyCritical(id) {
					*ck.diags = append(*ck.diags, Diag{Pos: t.Pos, Severity: Error, translation: true,
						Msg: msg + " (a safety-critical text: people rely on it, so this stops the content)"})
				} else {
					ck.diags.warnf(t.Pos, "%s", msg)
				}
			}
			if len(formatting) > 0 {
				ck.diags.warnf(t.Pos, "text %q in %s is formatted differently from %s: %s", id, l.Tag, srcName, strings.Join(formatting, "; "))
			}
		}
	}
}

// labelIDs are texts shown on buttons (and choices): they may differ in emoji.
func (ck *checker) labelIDs() map[string]bool {
	out := map[string]bool{}
	for id, uses := range ck.fl.ids {
		for _, u := range uses {
			if u.Label {
				out[id] = true
			}
		}
	}
	for _, id := range SystemTexts {
		if strings.Contains(id, ".btn.") || strings.HasSuffix(id, ".yes") || strings.HasSuffix(id, ".no") ||
			strings.HasSuffix(id, ".button") || strings.HasSuffix(id, ".leave") || strings.HasSuffix(id, ".skip") ||
			strings.HasSuffix(id, ".cancel") {
			out[id] = true
		}
	}
	return out
}
