package textnorm

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fuzzSeeds mixes the scripts and the troublesome code points Fold and
// CyrToLat special-case, so the fuzzer starts near the interesting edges.
var fuzzSeeds = []string{
	"", " ", "Pomoć", "ПОМОЋ", "Đorđe", "ЉУБАВ Љубав ЊЊ Џ", "ǅ ǆ",
	"مُسَاعَدَة", "پناه\u200Cندگی", "كمك ي ى ئ أ إ آ ٱ ؤ ة ۀ ـ", "٣٤ ۳۴",
	"\u2066+381\u2069 تماس", "{{.town}} <b>x</b>", "😀👍🏽", "\xff\xfe", "a\u0301\u0323",
	"한국어 ᄀ\u0301ᅡ", "ﻛﻤﻚ ﷲ", "İ ẞ ß ſ K", "नमस्ते",
}

// refFold is Fold spelled the slow, obvious way (whole-string NFKC, lower,
// NFD, drop Mn, then the per-rune mappings). Fold must agree with it on
// valid UTF-8; it exists to check the single-pass shortcuts.
func refFold(s string) string {
	s = norm.NFKC.String(s)
	s = strings.ToLower(s)
	s = norm.NFD.String(s)
	var w foldWriter
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r >= hangulBase && r < hangulEnd:
			w.foldRune(r, 0) // Fold deliberately splits syllables into jamo
		default:
			w.foldBase(r)
		}
	}
	return w.result()
}

func FuzzFold(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Fold(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Fold(%q) = %q: invalid UTF-8", s, got)
		}
		if again := Fold(got); again != got {
			t.Fatalf("Fold not idempotent: Fold(%q) = %q, Fold again = %q", s, got, again)
		}
		if utf8.ValidString(s) {
			if want := refFold(s); got != want {
				t.Fatalf("Fold(%q) = %q, reference gives %q", s, got, want)
			}
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("Fold(%q) = %q: untrimmed or uncollapsed spaces", s, got)
		}
	})
}

func FuzzCyrToLat(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := CyrToLat(s)
		if !utf8.ValidString(s) {
			return // only "no panic" is promised for invalid input
		}
		if !utf8.ValidString(got) {
			t.Fatalf("CyrToLat(%q) = %q: invalid UTF-8", s, got)
		}
		if !norm.NFC.IsNormalString(got) {
			t.Fatalf("CyrToLat(%q) = %q: not NFC", s, got)
		}
		for _, r := range got {
			if r >= cyrBase && r < cyrEnd && cyrTable[r-cyrBase].lower != "" {
				t.Fatalf("CyrToLat(%q) = %q: Serbian Cyrillic %q left", s, got, r)
			}
		}
		// Text without Cyrillic must come back untouched (modulo NFC).
		if !hasCyrillic(s) && got != norm.NFC.String(s) {
			t.Fatalf("CyrToLat(%q) = %q: changed non-Cyrillic text", s, got)
		}
	})
}
