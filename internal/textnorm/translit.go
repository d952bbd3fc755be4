package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Serbian Cyrillic → Latin, and back.

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
