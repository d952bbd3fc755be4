package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
)

// LRI and PDI delimit a left-to-right isolate (Unicode Bidi, UAX #9).
// Text inside is laid out LTR and does not disturb the surrounding RTL text.
const (
	LRI = "\u2066"
	PDI = "\u2069"
)

// firstStrong implements the scan of Unicode Bidi rule P2: it returns the
// first rune of class L, R or AL, skipping isolate contents (nesting counts;
// an unmatched initiator hides the rest) and Go template actions, whose
// text is unknown until rendering. The whole string is scanned, across
// line breaks, because clients pick one direction per message.
func firstStrong(s string) (r rune, class bidi.Class, ok bool) {
	depth := 0
	for i := 0; i < len(s); {
		if s[i] == '{' && strings.HasPrefix(s[i:], "{{") {
			end := strings.Index(s[i+2:], "}}")
			if end < 0 {
				return 0, 0, false // unterminated action: nothing known after it
			}
			i += 2 + end + 2
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		p, _ := bidi.LookupRune(r)
		switch c := p.Class(); c {
		case bidi.LRI, bidi.RLI, bidi.FSI:
			depth++
		case bidi.PDI:
			if depth > 0 {
				depth--
			}
		case bidi.L, bidi.R, bidi.AL:
			if depth == 0 {
				return r, c, true
			}
		}
	}
	return 0, 0, false
}

// FirstStrongIsRTL reports whether a client that takes paragraph direction
// from the first strong character (Bidi rule P2) will lay s out
// right-to-left. found is false when s has no strong character at all, in
// which case the client falls back to its own default.
func FirstStrongIsRTL(s string) (rtl bool, found bool) {
	_, c, ok := firstStrong(s)
	return ok && (c == bidi.R || c == bidi.AL), ok
}

// StartsWithArabicLetter reports whether the first strong character of s
// (same scan as FirstStrongIsRTL) is an Arabic-script letter, i.e. the text
// reads as Arabic/Farsi rather than, say, Hebrew or Latin.
func StartsWithArabicLetter(s string) bool {
	r, _, ok := firstStrong(s)
	return ok && unicode.Is(unicode.Arabic, r) && unicode.IsLetter(r)
}

// Isolate wraps s in LRI…PDI so that a phone number, code or URL keeps its
// left-to-right order when embedded in Arabic or Farsi text.
func Isolate(s string) string {
	return LRI + s + PDI
}
