package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold normalises text for keyword matching so that the ways people
// actually type a word compare equal: "ПОМОЋ", "pomoć" and "Pomoc" all
// become "pomoc"; Arabic/Persian letter variants (ي/ی, ك/ک, ة/ه, أ/ا …),
// harakat, tatweel, ZWNJ and Arabic-Indic digits are unified as well.
//
// Steps: NFKC, lower case, canonical decomposition with nonspacing marks
// (Mn) dropped, Serbian Cyrillic→Latin, Arabic-script letter unification,
// digits to ASCII. Anything that is not a letter, digit or spacing mark
// becomes a single space; the result is trimmed. Invalid UTF-8 bytes count
// as spaces. Fold is idempotent, and returns s itself (no allocation) when
// s is already folded.
//
// NFKC followed by NFD is exactly NFKD, so the normalisation is done rune
// by rune with compatibility decompositions in the same single pass,
// instead of normalising the whole string up front.
func Fold(s string) string {
	w := foldWriter{src: s}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf { // ASCII fast path: most messages are mostly ASCII
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				w.space()
				continue
			}
			w.beforeWord() // open-coded wordByte: both calls inline here
			w.raw(c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size == 1 {
			w.space()
			continue
		}
		if r < fold2End { // Latin, Greek, Cyrillic, Arabic: precomputed
			switch e := &fold2[r-utf8.RuneSelf]; e.kind {
			case foldDrop:
			case foldSpace:
				w.space()
			case foldWord:
				w.word(e.s)
			default:
				w.foldRune(r, 0)
			}
			continue
		}
		w.foldRune(r, 0)
	}
	return w.result()
}

// fold2 caches foldRune's effect for every two-byte UTF-8 rune
// (U+0080–U+07FF), which covers all of Serbian and Arabic/Persian: a table
// lookup instead of case-mapping and decomposition lookups per rune.
const fold2End = 0x800

const (
	foldSlow  = iota // effect is not a single action: use foldRune
	foldDrop         // rune vanishes (accents, harakat, tatweel)
	foldSpace        // rune is a separator
	foldWord         // rune becomes the word characters in s
)

type fold2Entry struct {
	s    string
	kind uint8
}

var fold2 = func() (t [fold2End - utf8.RuneSelf]fold2Entry) {
	for r := rune(utf8.RuneSelf); r < fold2End; r++ {
		// started=true so that a leading separator is recorded too.
		w := foldWriter{started: true}
		w.foldRune(r, 0)
		out := w.result()
		e := &t[r-utf8.RuneSelf]
		switch {
		case out == "" && !w.pending:
			e.kind = foldDrop
		case out == "":
			e.kind = foldSpace
		case !w.pending && !strings.Contains(out, " "):
			e.kind, e.s = foldWord, out
		}
	}
	return t
}()

// Hangul syllable constants (Unicode §3.12). norm's Properties do not
// expose the algorithmic Hangul decomposition, so it is done here.
const (
	hangulBase  = 0xAC00
	hangulEnd   = hangulBase + 11172
	jamoLBase   = 0x1100
	jamoVBase   = 0x1161
	jamoTBase   = 0x11A7
	jamoTCount  = 28
	jamoVTCount = 21 * jamoTCount
)

// foldRune fully decomposes r (compatibility decomposition, Hangul
// included), lower-cases each part and folds it. Decomposing all the way
// is what makes Fold idempotent: every rune it outputs maps to itself.
// depth only guards against a (not known to exist) case-mapping cycle.
func (w *foldWriter) foldRune(r rune, depth int) {
	if r >= hangulBase && r < hangulEnd {
		si := r - hangulBase
		w.foldBase(jamoLBase + si/jamoVTCount)
		w.foldBase(jamoVBase + (si%jamoVTCount)/jamoTCount)
		if t := si % jamoTCount; t != 0 {
			w.foldBase(jamoTBase + t)
		}
		return
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	if d := norm.NFKD.Properties(buf[:n]).Decomposition(); d != nil {
		for len(d) > 0 {
			p, size := utf8.DecodeRune(d)
			d = d[size:]
			w.foldRune(p, depth+1)
		}
		return
	}
	if l := unicode.ToLower(r); l != r && depth < 4 {
		w.foldRune(l, depth+1) // the lower-case form may itself decompose
		return
	}
	w.foldBase(r)
}

// foldBase folds a single lower-case rune that has no decomposition.
func (w *foldWriter) foldBase(r rune) {
	switch {
	case r < utf8.RuneSelf:
		// Only reachable via decompositions; reuse the ASCII rules.
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			w.wordByte(byte(r))
		case 'A' <= r && r <= 'Z':
			w.wordByte(byte(r) + 'a' - 'A')
		default:
			w.space()
		}
		return
	case r >= cyrBase && r < cyrEnd:
		if t := foldCyr[r-cyrBase]; t != "" {
			w.word(t)
			return
		}
	case r >= 0x0600 && r <= 0x06FF:
		switch r {
		case 'ي', 'ى', 'ئ': // Arabic yeh, alef maksura, yeh+hamza → Farsi yeh
			w.wordRune('ی')
			return
		case 'ك': // Arabic kaf → Farsi keheh
			w.wordRune('ک')
			return
		case 'ة', 'ە': // teh marbuta, ae (from ۀ) → heh
			w.wordRune('ه')
			return
		case 'أ', 'إ', 'آ', 'ٱ': // alef variants → bare alef
			w.wordRune('ا')
			return
		case 'ؤ':
			w.wordRune('و')
			return
		case 'ـ', '\u061C': // tatweel is only elongation; ALM is a bidi control
			return
		}
		if r >= '٠' && r <= '٩' {
			w.wordByte(byte('0' + r - '٠'))
			return
		}
		if r >= '۰' && r <= '۹' {
			w.wordByte(byte('0' + r - '۰'))
			return
		}
	case r == 'đ': // đ has no decomposition, so NFD alone would leave it
		w.word("dj")
		return
	case r == '\u00AD', // soft hyphen
		r == '\u200C', r == '\u200D', // ZWNJ, ZWJ: Persian spelling/emoji joiners
		r == '\u200E', r == '\u200F', // LRM, RLM
		'\u202A' <= r && r <= '\u202E', // embeddings/overrides
		r == '\u2060',                  // word joiner
		'\u2066' <= r && r <= '\u2069', // isolates
		r == '\uFEFF':                  // BOM / ZWNBSP
		// Invisible: removed rather than turned into a space, so
		// "می‌خواهم" (with ZWNJ) matches "میخواهم".
		return
	}
	switch {
	case unicode.Is(unicode.Mn, r):
		// Accents, harakat, variation selectors: dropped.
	case unicode.IsLetter(r), unicode.IsDigit(r), unicode.Is(unicode.Mc, r):
		// Spacing marks (Mc) are kept so Indic-script words stay whole.
		w.wordRune(r)
	default:
		w.space()
	}
}

// foldWriter builds Fold's output lazily: while the output is identical to
// a prefix of src it only advances pos, and copies only on the first
// difference. Already-folded input thus costs no allocation, and trailing
// separators are trimmed by slicing.
type foldWriter struct {
	src      string
	pos      int             // while !diverged, the output so far is src[:pos]
	b        strings.Builder // the output once it differs from src
	diverged bool
	started  bool // a word character has been written
	pending  bool // a separator was seen since the last word character
}

// raw is kept tiny so it inlines into the per-byte loop; once diverged,
// src is emptied so the comparison always fails.
func (w *foldWriter) raw(c byte) {
	if w.pos < len(w.src) && w.src[w.pos] == c {
		w.pos++
		return
	}
	w.rawSlow(c)
}

func (w *foldWriter) rawSlow(c byte) {
	if !w.diverged {
		w.diverged = true
		w.b.Grow(len(w.src) + 8)
		w.b.WriteString(w.src[:w.pos])
		w.src = ""
	}
	w.b.WriteByte(c)
}

// space records a separator; it is written only if another word follows,
// which collapses runs and trims both ends.
func (w *foldWriter) space() { w.pending = w.started }

func (w *foldWriter) beforeWord() {
	if w.pending {
		w.raw(' ')
		w.pending = false
	}
	w.started = true
}

func (w *foldWriter) wordByte(c byte) {
	w.beforeWord()
	w.raw(c)
}

func (w *foldWriter) word(s string) {
	w.beforeWord()
	for i := 0; i < len(s); i++ {
		w.raw(s[i])
	}
}

func (w *foldWriter) wordRune(r rune) {
	w.beforeWord()
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	for _, c := range buf[:n] {
		w.raw(c)
	}
}

func (w *foldWriter) result() string {
	if !w.diverged {
		return w.src[:w.pos]
	}
	return w.b.String()
}
