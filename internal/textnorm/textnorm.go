// Package textnorm holds the small pieces of Unicode handling the bot needs
// for its five languages (English, Serbian in both scripts, Arabic,
// Farsi/Dari): folding user input for keyword matching, Serbian
// Cyrillic→Latin transliteration, paragraph-direction detection, bidi
// isolation and Telegram's UTF-16 length.
package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// LRI and PDI delimit a left-to-right isolate (Unicode Bidi, UAX #9).
// Text inside is laid out LTR and does not disturb the surrounding RTL text.
const (
	LRI = "\u2066"
	PDI = "\u2069"
)

// ---------------------------------------------------------------------------
// Serbian Cyrillic → Latin

// latin is the Gaj's-alphabet spelling of one Serbian Cyrillic letter.
// title differs from upper only for the digraphs (Lj/LJ, Nj/NJ, Dž/DŽ).
type latin struct {
	lower, title, upper string
}

// cyrBase/cyrEnd bound the block that holds every Serbian Cyrillic letter,
// so the lookup is an array index instead of a map probe.
const (
	cyrBase = 0x0400
	cyrEnd  = 0x0460
)

// cyrTable maps r-cyrBase to its Latin spelling; zero entries are Cyrillic
// letters Serbian does not use (й, щ, ы, …), which pass through unchanged.
// foldCyr is its lower-case column with diacritics already stripped
// (đ→dj, ć→c, …), so Fold can emit it directly. Built by a variable
// initialiser (not init) because fold2's initialiser depends on it.
var cyrTable, foldCyr = buildCyrTables()

func buildCyrTables() (tab [cyrEnd - cyrBase]latin, fold [cyrEnd - cyrBase]string) {
	pairs := [...]struct {
		cyr rune
		lat string
	}{
		{'а', "a"}, {'б', "b"}, {'в', "v"}, {'г', "g"}, {'д', "d"},
		{'ђ', "đ"}, {'е', "e"}, {'ж', "ž"}, {'з', "z"}, {'и', "i"},
		{'ј', "j"}, {'к', "k"}, {'л', "l"}, {'љ', "lj"}, {'м', "m"},
		{'н', "n"}, {'њ', "nj"}, {'о', "o"}, {'п', "p"}, {'р', "r"},
		{'с', "s"}, {'т', "t"}, {'ћ', "ć"}, {'у', "u"}, {'ф', "f"},
		{'х', "h"}, {'ц', "c"}, {'ч', "č"}, {'џ', "dž"}, {'ш', "š"},
	}
	for _, p := range pairs {
		upper := strings.ToUpper(p.lat)
		first, n := utf8.DecodeRuneInString(p.lat)
		title := string(unicode.ToUpper(first)) + p.lat[n:]
		tab[p.cyr-cyrBase] = latin{p.lat, p.lat, p.lat}
		tab[unicode.ToUpper(p.cyr)-cyrBase] = latin{p.lat, title, upper}
		fold[p.cyr-cyrBase] = stripLatin(p.lat)
	}
	return tab, fold
}

// stripLatin removes diacritics from a Serbian Latin spelling the same way
// Fold does, so that Fold("ђ") == Fold(CyrToLat("ђ")) by construction.
func stripLatin(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case r == 'đ':
			b.WriteString("dj")
		case !unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CyrToLat transliterates Serbian Cyrillic into Serbian Latin (Gaj's
// alphabet), so the Latin-script texts can be generated from the Cyrillic
// ones instead of being maintained by hand.
//
// Only Serbian Cyrillic letters change: template actions ({{.town}}), HTML,
// URLs, digits, Arabic and emoji are copied byte for byte. Digraphs are
// written "LJ" inside all-caps words and "Lj" otherwise. The result is NFC.
func CyrToLat(s string) string {
	s = norm.NFC.String(s) // compose decomposed input (и+◌̆ is й, not "i"+◌̆)
	if !hasCyrillic(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	prev := rune(-1)
	replaced := false // prev was transliterated
	needNFC := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var l latin
		if r >= cyrBase && r < cyrEnd {
			l = cyrTable[r-cyrBase]
		}
		switch {
		case l.lower == "":
			b.WriteString(s[i : i+size]) // raw bytes: keeps even invalid UTF-8 as it was
			// A mark after a new Latin letter may now compose (с+◌̌ → š).
			needNFC = needNFC || (replaced && r >= 0x300 && unicode.Is(unicode.M, r))
		case r >= 'а': // lower case: а–я and ѐ–џ follow the capitals
			b.WriteString(l.lower)
		case l.title == l.upper:
			b.WriteString(l.upper)
		default:
			// A digraph letter: all caps only when it sits in an
			// all-caps context, so "ЉУБАВ"→"LJUBAV" but "Љубав"→"Ljubav".
			next, _ := utf8.DecodeRuneInString(s[i+size:])
			if unicode.IsUpper(next) || (unicode.IsUpper(prev) && !unicode.IsLower(next)) {
				b.WriteString(l.upper)
			} else {
				b.WriteString(l.title)
			}
		}
		replaced = l.lower != ""
		prev = r
		i += size
	}
	if needNFC {
		return norm.NFC.String(b.String())
	}
	return b.String()
}

// latCyr maps one Serbian Latin letter (lower case) to Cyrillic; the
// digraphs lj, nj and dž are handled by LatToCyr before it.
var latCyr = map[rune]rune{
	'a': 'а', 'b': 'б', 'v': 'в', 'g': 'г', 'd': 'д', 'đ': 'ђ', 'e': 'е', 'ž': 'ж', 'z': 'з',
	'i': 'и', 'j': 'ј', 'k': 'к', 'l': 'л', 'm': 'м', 'n': 'н', 'o': 'о', 'p': 'п', 'r': 'р',
	's': 'с', 't': 'т', 'ć': 'ћ', 'u': 'у', 'f': 'ф', 'h': 'х', 'c': 'ц', 'č': 'ч', 'š': 'ш',
}

// latDigraphs are the Latin letter pairs that are one Cyrillic letter.
var latDigraphs = map[[2]rune]rune{{'l', 'j'}: 'љ', {'n', 'j'}: 'њ', {'d', 'ž'}: 'џ'}

// LatToCyr transliterates Serbian Latin (Gaj's alphabet) into Serbian
// Cyrillic, for proper names and addresses that are written in Latin (the
// directory) but shown to people who read Cyrillic.
//
// lj, nj and dž become љ, њ and џ in any case ("Lj", "LJ", "lJ"). A word
// holding a letter Serbian does not use (q, w, x, y), an @, a slash or "://"
// is a foreign name, an e-mail or a link and is copied unchanged, as are
// digits, punctuation, and "{{...}}" or <...> parts. Mixed tokens keep their
// digits: "128d" → "128д", "bb" (bez broja, no number) → "бб".
//
// The digraph rule is the usual one for transliteration; the rare word in
// which n and j are two letters ("konjunkcija") comes out wrong, which does
// not happen in place names and street names of the directory.
func LatToCyr(s string) string {
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); {
		// Template actions and HTML tags pass through whole.
		if strings.HasPrefix(s[i:], "{{") {
			if end := strings.Index(s[i:], "}}"); end >= 0 {
				b.WriteString(s[i : i+end+2])
				i += end + 2
				continue
			}
		}
		if s[i] == '<' {
			if end := strings.IndexByte(s[i:], '>'); end >= 0 {
				b.WriteString(s[i : i+end+1])
				i += end + 1
				continue
			}
		}
		// One word: up to the next space.
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\n' && s[j] != '\t' && s[j] != '<' && !strings.HasPrefix(s[j:], "{{") {
			j++
		}
		if j == i {
			b.WriteByte(s[i])
			i++
			continue
		}
		word := s[i:j]
		if foreignWord(word) {
			b.WriteString(word)
		} else {
			latToCyrWord(&b, word)
		}
		i = j
	}
	return b.String()
}

func foreignWord(w string) bool {
	if strings.ContainsAny(w, "@/") {
		return true
	}
	for _, r := range w {
		switch unicode.ToLower(r) {
		case 'q', 'w', 'x', 'y':
			return true
		}
	}
	return false
}

func latToCyrWord(b *strings.Builder, w string) {
	rs := []rune(w)
	for k := 0; k < len(rs); k++ {
		r := rs[k]
		lower := unicode.ToLower(r)
		upper := r != lower
		if k+1 < len(rs) {
			if c, ok := latDigraphs[[2]rune{lower, unicode.ToLower(rs[k+1])}]; ok {
				if upper {
					c = unicode.ToUpper(c)
				}
				b.WriteRune(c)
				k++
				continue
			}
		}
		c, ok := latCyr[lower]
		switch {
		case !ok:
			b.WriteRune(r)
		case upper:
			b.WriteRune(unicode.ToUpper(c))
		default:
			b.WriteRune(c)
		}
	}
}

// hasCyrillic reports whether s may contain a character from U+0400–U+04FF
// (UTF-8 lead bytes 0xD0–0xD3); a cheap byte scan that lets pure Latin or
// Arabic text skip transliteration entirely.
func hasCyrillic(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0xD0 && c <= 0xD3 {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Fold

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

// ---------------------------------------------------------------------------
// Direction

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

// ---------------------------------------------------------------------------
// Length

// UTF16Len returns the length of s in UTF-16 code units, the unit Telegram
// uses for message length limits and entity offsets. Runes above U+FFFF
// take two units; each invalid byte counts as one U+FFFD, which is what
// encoding/json sends in its place.
func UTF16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}
