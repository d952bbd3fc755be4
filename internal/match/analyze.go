package match

import (
	"strings"
	"unicode/utf8"

	snowball "github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/arabic"
	"github.com/blevesearch/snowballstem/english"

	"putokaz/internal/textnorm"
)

// Family is a language family the matcher knows: one analyser each.
// Serbian Cyrillic and Latin are one family (typed text is folded to Latin).
type Family uint8

const (
	English Family = iota
	Serbian
	Arabic
	Persian
	numFamilies
)

var familyNames = [numFamilies]string{"en", "sr", "ar", "fa"}

func (f Family) String() string { return familyNames[f] }

// FamilyOf maps a language tag of the content (en, sr-Cyrl, sr-Latn, ar, fa)
// to its family.
func FamilyOf(tag string) (Family, bool) {
	base, _, _ := strings.Cut(tag, "-")
	for i, n := range familyNames {
		if n == base {
			return Family(i), true
		}
	}
	return 0, false
}

// script of a folded token.
type script uint8

const (
	latinScript script = iota
	arabicScript
	otherScript
)

func scriptOf(tok string) script {
	r, _ := utf8.DecodeRuneInString(tok)
	switch {
	case r < utf8.RuneSelf:
		return latinScript
	case r >= 0x0600 && r <= 0x06FF:
		return arabicScript
	}
	return otherScript
}

// tokens folds text (textnorm.Fold: lower case, no diacritics, Serbian
// Cyrillic to Latin, Arabic/Persian letter variants, any digits to 0-9) and
// splits it into words; Arabizi digits inside Latin words are kept.
func tokens(text string, dst []string) []string {
	f := textnorm.Fold(text)
	for f != "" {
		var w string
		w, f, _ = strings.Cut(f, " ")
		if w != "" {
			dst = append(dst, w)
		}
		if len(dst) >= maxTokens {
			break
		}
	}
	return dst
}

// maxTokens bounds the words of one message that are looked at.
const maxTokens = 64

// isNumber reports a token made of digits only (never a word to count).
func isNumber(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return tok != ""
}

// stemmer turns one folded token of its family into an index term, "" to
// drop it. It is not safe for concurrent use (snowball environments are
// reused), so each Match call builds its own.
type stemmer struct {
	env *snowball.Env
}

func newStemmer() *stemmer { return &stemmer{env: snowball.NewEnv("")} }

// stem returns the term for tok in family f, or "" when the token is a stop
// word or does not belong to the family's script.
func (s *stemmer) stem(f Family, tok string) string {
	sc := scriptOf(tok)
	switch f {
	case English:
		if sc != latinScript || latinStop(tok) {
			return ""
		}
		if len(tok) <= 2 {
			return tok
		}
		s.env.SetCurrent(tok)
		english.Stem(s.env)
		if out := s.env.Current(); !stopEN[out] {
			return out
		}
		return "" // wants, needed: forms of stop words

	case Serbian:
		if sc != latinScript || latinStop(tok) {
			return ""
		}
		if d := serbianDialect(tok); d != tok && latinStop(d) {
			return "" // ovdje, shta
		}
		st := stemSerbian(tok)
		if v, ok := serbianVariants[st]; ok {
			return v // odvjetnik → advokat, god → godina
		}
		return st
	case Arabic:
		if sc == latinScript && !isStop(tok) {
			return tok // Arabizi, as typed (its skeleton is a second term)
		}
		if sc != arabicScript || arabicStop(Arabic, tok) {
			return ""
		}
		if fixedArabic[tok] {
			return tok
		}
		// Fold writes Persian yeh and keheh; Snowball's Arabic stemmer
		// expects the Arabic letters.
		t := toArabicLetters.Replace(dialectPrefix(tok))
		s.env.SetCurrent(t)
		arabic.Stem(s.env)
		out := fromArabicLetters.Replace(s.env.Current())
		if out == "" {
			return tok
		}
		return out
	case Persian:
		if sc == latinScript && !isStop(tok) {
			return tok // Finglish, as typed (its skeleton is a second term)
		}
		if sc != arabicScript || arabicStop(Persian, tok) {
			return ""
		}
		return stemPersian(tok)
	}
	return ""
}

// latinStop reports a stop word of English or Serbian: both are typed in
// Latin letters and people mix them ("kako se registrujem za azil" is no
// English, though English keywords hold Serbian words), so a stop word of
// one is no evidence in the other.
func latinStop(tok string) bool { return stopMask[tok]&stopInLatin != 0 }

// arabicStop reports a stop word of Arabic or Persian (both scripts are
// one after folding, and Persian برای, ها say nothing in Arabic either),
// also with the conjunction و attached (وما, ولا, وانا).
func arabicStop(f Family, tok string) bool {
	stop := func(t string) bool {
		m := stopMask[t]
		return m&stopInAR != 0 || (m&stopInFA != 0 && (f == Persian || !arabicWords[t]))
	}
	if stop(tok) {
		return true
	}
	if rest, ok := strings.CutPrefix(tok, "و"); ok && rest != "" {
		return stop(rest)
	}
	return false
}

// fixedArabic are greetings kept whole: Snowball would make اهلا
// ("hello") the stem of اهلي ("my family").
var fixedArabic = foldSet("اهلا", "أهلا", "اهلين", "أهلين", "اهلاً", "هلا", "مرحبا", "مرحبتين")

// arabicWords are Persian stop words that are Arabic words with meaning
// once folded (هاي, "hi", folds to the Persian plural های).
var arabicWords = map[string]bool{"های": true}

// alternative is a second reading of a token whose term the index does
// not know: Serbian spoken infinitives without their -i (vratit, spavat)
// or the whole word when a typo spoilt its ending (lekra for lekar),
// an Arabic word with a proclitic the Snowball stemmer kept (لمحامي,
// كمحامي, فالطبيب), a Persian verb with its subjunctive or negative prefix
// (بخوابم, نداریم). "" when there is none.
func (s *stemmer) alternative(f Family, tok string) string {
	switch f {
	case Serbian:
		if len(tok) < 5 || scriptOf(tok) != latinScript {
			return ""
		}
		if tok[len(tok)-1] == 't' {
			return stemSerbian(tok + "i")
		}
		// A typo in the ending leaves the wrong stem (lekra → lekr): the
		// whole word may be one edit from a known stem (lekar).
		return serbianDialect(tok)
	case Arabic:
		if scriptOf(tok) != arabicScript {
			return ""
		}
		r, n := utf8.DecodeRuneInString(tok)
		if strings.ContainsRune("لبکفو", r) && utf8.RuneCountInString(tok) >= 4 {
			rest := tok[n:]
			if r == 'ل' && strings.HasPrefix(rest, "ل") {
				rest = "ا" + rest // للمحامي: ل + المحامي
			}
			return s.stem(Arabic, rest)
		}
	case Persian:
		if scriptOf(tok) != arabicScript {
			return ""
		}
		r, n := utf8.DecodeRuneInString(tok)
		if (r == 'ب' || r == 'ن') && utf8.RuneCountInString(tok) >= 4 {
			return stemPersian("می" + tok[n:])
		}
	}
	return ""
}

var (
	toArabicLetters   = strings.NewReplacer("ی", "ي", "ک", "ك")
	fromArabicLetters = strings.NewReplacer("ي", "ی", "ك", "ک", "ى", "ی", "ة", "ه", "أ", "ا", "إ", "ا", "آ", "ا")
)

// serbianSuffixes are case and verb endings of Serbian, in Latin without
// diacritics, longest first. No maintained Go Snowball port has Serbian
// (blevesearch/snowballstem has English and Arabic, kljensen/snowball
// neither; tebeka/snowball wraps the C library through cgo and calls
// itself a learning exercise), so this light stemmer strips one ending and
// keeps a stem of at least three letters; spelling tolerance covers the
// rest. The verb classes meet at one stem: registrujem, registrovati,
// registruje → registr; spavao, spavala, spavam → spav; trazio, trazim →
// traz. Neuter nouns with -et- (dete, deteta, detetu) meet at det.
var serbianSuffixes = []string{
	"ovima", "evima", "anjem", "enjem", "ovati", "evati", "ivati", "ujemo", "ujete",
	"anja", "enja", "anje", "enje", "ovoj", "ovom", "ovog", "iste", "cemo", "cete", "ujem", "ujes", "etom",
	"ama", "ima", "ovi", "evi", "ova", "eva", "ove", "eve", "oga", "omu", "ega", "emu", "iji", "ija", "ije",
	"ati", "iti", "eti", "uti", "amo", "ate", "emo", "ete", "imo", "ite", "aju", "eju", "uju", "uje",
	"ala", "ale", "ali", "alo", "ela", "ele", "eli", "elo", "ila", "ile", "ili", "ilo", "eta", "etu",
	"om", "em", "og", "oj", "ih", "im",
	"am", "as", "es", "is", "la", "le", "li", "lo", "ju", "ao", "eo", "io",
	"a", "e", "i", "o", "u",
}

// stemSerbian folds the ways Serbian is typed to one (ijekavian dijete,
// gdje, mjesto as ekavian dete, gde, mesto; sh, ch, zh typed for š, č, ž),
// drops the superlative naj- and strips one ending. Words of four letters
// lose only a final vowel (noci → noc, kuca → kuc).
func stemSerbian(tok string) string {
	tok = serbianDialect(tok)
	if len(tok) >= 7 && strings.HasPrefix(tok, "naj") {
		tok = tok[3:] // najblizi → blizi
	}
	switch {
	case len(tok) < 4:
		return tok
	case len(tok) == 4:
		if strings.IndexByte("aeiou", tok[3]) >= 0 && strings.IndexByte("aeiou", tok[2]) < 0 {
			return tok[:3]
		}
		return tok
	}
	for _, suf := range serbianByLast[tok[len(tok)-1]] {
		if strings.HasSuffix(tok, suf) && len(tok)-len(suf) >= 3 {
			return verbStem(tok[:len(tok)-len(suf)])
		}
	}
	return tok
}

// verbStem takes the -ov- and -ir- of a verb stem off, so that the past
// forms (deportovali, registrovao) and the Croatian and Bosnian -irati
// verbs (deportirali, registrirati) meet the present (deportuju,
// registrujem) at one stem.
func verbStem(st string) string {
	if len(st) >= 7 && (strings.HasSuffix(st, "ov") || strings.HasSuffix(st, "ir")) {
		return st[:len(st)-2]
	}
	return st
}

// serbianWordPairs are words people type for a Serbian word the phrasings
// use: Croatian and Bosnian words (odvjetnik, liječnik, obitelj, bok),
// short forms typed on phones (god for godina, fala for hvala, di for gde).
// Both sides are stemmed when the package loads, so every case form of the
// variant (odvjetnika, obitelji) meets the Serbian stem.
var serbianWordPairs = [][2]string{
	{"odvjetnik", "advokat"}, {"odvjetnica", "advokat"},
	{"lijecnik", "lekar"}, {"lijecnica", "lekar"}, {"ljecnik", "lekar"},
	{"obitelj", "porodica"}, {"obitelji", "porodica"}, {"familija", "porodica"}, {"famelija", "porodica"},
	{"bok", "zdravo"}, {"pozz", "pozdrav"}, {"fala", "hvala"}, {"hvl", "hvala"}, {"tnx", "hvala"},
	{"god", "godina"}, {"godine", "godina"}, {"gdi", "gde"}, {"di", "gde"}, {"kolko", "koliko"},
	{"putovnica", "pasos"}, {"putovnicu", "pasos"}, {"kruh", "hleb"}, {"tjedan", "nedelja"}, {"tjedna", "nedelja"},
	{"djelatnik", "radnik"}, {"prenociste", "smestaj"}, {"iskaznica", "karta"}, {"osobna", "licna"},
	{"vlak", "voz"}, {"ured", "kancelarija"}, {"hljeb", "hleb"}, {"nzm", "znam"},
	// Slang: money, the police, parents, a kid.
	{"lova", "novac"}, {"lovu", "novac"}, {"kes", "novac"}, {"kinta", "novac"},
	{"murija", "policija"}, {"pandur", "policija"}, {"panduri", "policija"},
	{"cale", "otac"}, {"keva", "majka"}, {"klinac", "dete"}, {"klinci", "dete"},
}

// serbianVariants maps the stem of a variant to the stem of its Serbian
// word (see serbianWordPairs).
var serbianVariants = func() map[string]string {
	m := map[string]string{}
	for _, p := range serbianWordPairs {
		from, to := stemSerbian(textnorm.Fold(p[0])), stemSerbian(textnorm.Fold(p[1]))
		if from != to {
			m[from] = to
		}
	}
	return m
}()

// serbianByLast holds serbianSuffixes by their last letter, longest first.
var serbianByLast = func() (by [256][]string) {
	for _, suf := range serbianSuffixes {
		c := suf[len(suf)-1]
		by[c] = append(by[c], suf)
	}
	return by
}()

// serbianDialect writes an ijekavian word as ekavian and sh, ch, zh as s,
// c, z, on both the phrasings and the message: "ije" before a consonant is
// "e" (dijete, mlijeko, lijek), and a "j" between a consonant and "e" goes
// (gdje, mjesto, smjestaj), except after l and n, where lj and nj are
// letters of their own (zelje, pitanje). dj is always d: đ is folded to dj
// and typed as dj or d (nađem, nadjem, nadem), and ijekavian djeca and
// odjeća are ekavian deca and odeća. Ekavian words that the rules also
// change (higijena; vođa meets voda) change the same way on both sides.
func serbianDialect(tok string) string {
	if !strings.Contains(tok, "je") && !strings.Contains(tok, "h") && !strings.Contains(tok, "dj") {
		return tok
	}
	var buf [64]byte
	if len(tok) > len(buf) {
		return tok
	}
	out := buf[:0]
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= 0x80:
			return tok // not plain Latin: leave it alone
		case c == 'i' && i > 0 && i+3 < len(tok) && tok[i+1] == 'j' && tok[i+2] == 'e' && isConsonant(tok[i+3]):
			out = append(out, 'e')
			i += 2
			continue
		case c == 'j' && i > 0 && tok[i-1] == 'd':
			// đ is typed dj or d (nađem, nadjem, nadem), and ijekavian d+je
			// is ekavian de (djeca, odjeća): d for all of them.
			continue
		case c == 'j' && i > 0 && i+1 < len(tok) && tok[i+1] == 'e' && isConsonant(tok[i-1]) && tok[i-1] != 'l' && tok[i-1] != 'n':
			continue
		case c == 'h' && i > 0 && (tok[i-1] == 's' || tok[i-1] == 'c' || tok[i-1] == 'z'):
			continue
		case c == 'j' && i == 1 && tok[0] == 'l' && len(tok) > 2 && tok[2] == 'e':
			continue // ljekar, ljeto: no ekavian word starts with lje
		}
		out = append(out, c)
	}
	if len(out) == len(tok) {
		return tok
	}
	return string(out)
}

func isConsonant(c byte) bool {
	return c >= 'a' && c <= 'z' && strings.IndexByte("aeiou", c) < 0
}

// Persian affixes on the folded form (ی, ک; ZWNJ already removed, so
// "می‌خواهم" arrives as "میخواهم"). No maintained Go stemmer for Persian
// exists (bleve's fa analyser only normalises); these are the verb prefixes
// and the plural, possessive and person endings.
var (
	persianPrefixes = []string{"نمی", "می"}
	persianSuffixes = []string{
		"هایمان", "هایتان", "هایشان", "هایم", "هایت", "هایش", "های", "ها",
		"ترین", "مان", "تان", "شان", "ایم", "اید", "اند", "یم", "ید", "ند", "ام", "ات", "اش", "یی",
		// Spoken possessive with the object marker: برادرمو (برادرم را).
		"مو",
		"م", "ی", "ت", "ش", "د",
	}
	// persianSpoken maps spoken stems to written ones (میخوام → می‌خواهم).
	persianSpoken = map[string]string{"خوا": "خواه", "تون": "توان", "دون": "دان", "گ": "گو", "ر": "رو"}
)

// dialectPrefix drops the Levantine and Egyptian present-tense b- of a
// verb ("بيضربني" → "يضربني", "بنام" → "نام"), which Snowball's (standard
// Arabic) stemmer does not know.
func dialectPrefix(tok string) string {
	rest, ok := strings.CutPrefix(tok, "ب")
	if !ok || utf8.RuneCountInString(rest) < 3 {
		return tok
	}
	if r, _ := utf8.DecodeRuneInString(rest); r == 'ی' || r == 'ت' || r == 'ن' {
		return rest
	}
	return tok
}

func stemPersian(tok string) string {
	w := tok
	if rest, ok := strings.CutSuffix(w, "گی"); ok && utf8.RuneCountInString(rest) >= 3 {
		w = rest + "ه" // پناهندگی → پناهنده, زندگی → زنده
	}
	verb := false
	for _, p := range persianPrefixes {
		if rest, ok := strings.CutPrefix(w, p); ok && utf8.RuneCountInString(rest) >= 2 {
			w, verb = rest, true
			break
		}
	}
	if verb {
		// Spoken person ending -e of a verb: میزنه, میکنه (as میزند).
		if rest, ok := strings.CutSuffix(w, "ه"); ok && utf8.RuneCountInString(rest) >= 2 {
			w = rest + "د"
		}
	}
	for _, suf := range persianSuffixes {
		if rest, ok := strings.CutSuffix(w, suf); ok && utf8.RuneCountInString(rest) >= 3 {
			w = rest
			break
		}
	}
	if s, ok := persianSpoken[w]; ok {
		w = s
	}
	return w
}

// skeleton is the romanised key of a word typed in Arabic script or in
// Latin letters (Finglish, Arabizi): consonants only, in one spelling, so
// that "komak", "کمک" and "komakk" share "kmk", and "bdi 2rja3" meets
// "بدي ارجع". Vowels, alef, ain, hamza and the semivowels (و ی, w v y)
// inside a word are dropped because both ways of writing omit or add them
// freely; a final h (ه, -eh) too. Returns "" for skeletons under two
// letters, which match too much.
func skeleton(tok string, buf []byte) []byte {
	buf = buf[:0]
	sc := scriptOf(tok)
	if sc == otherScript {
		return buf
	}
	first := true
	emit := func(c byte) {
		if n := len(buf); n > 0 && buf[n-1] == c {
			first = false
			return // doubled letters: "lazzem", "تشدید"
		}
		buf = append(buf, c)
		first = false
	}
	if sc == arabicScript {
		if rest, ok := strings.CutPrefix(tok, "ال"); ok && utf8.RuneCountInString(rest) >= 3 {
			tok = rest
		}
		for _, r := range tok {
			switch r {
			case 'ب':
				emit('b')
			case 'پ':
				emit('p')
			case 'ت', 'ط':
				emit('t')
			case 'ث', 'س', 'ص':
				emit('s')
			case 'ج':
				emit('j')
			case 'ژ':
				emit('j')
			case 'چ':
				emit('c')
			case 'ح', 'ه':
				emit('h')
			case 'خ':
				emit('x')
			case 'د':
				emit('d')
			case 'ذ', 'ز', 'ض', 'ظ':
				emit('z')
			case 'ر':
				emit('r')
			case 'ش':
				emit('S')
			case 'غ', 'ق':
				emit('q')
			case 'ف':
				emit('f')
			case 'ک':
				emit('k')
			case 'گ':
				emit('g')
			case 'ل':
				emit('l')
			case 'م':
				emit('m')
			case 'ن':
				emit('n')
			case 'و':
				if first {
					emit('v')
				}
			case 'ی':
				if first {
					emit('y')
				}
			default:
				first = false // alef, ain, hamza, digits: silent
			}
		}
	} else {
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			var next byte
			if i+1 < len(tok) {
				next = tok[i+1]
			}
			if next == 'h' {
				two := true
				switch c {
				case 'k':
					emit('x')
				case 'g':
					emit('q')
				case 's':
					emit('S')
				case 'c':
					emit('c')
				case 'z':
					emit('j')
				case 't':
					emit('s')
				case 'd':
					emit('z')
				default:
					two = false
				}
				if two {
					i++
					continue
				}
			}
			switch c {
			case 'a', 'e', 'i', 'o', 'u', '2', '3':
				first = false
			case 'w', 'v':
				if first {
					emit('v')
				} else {
					first = false
				}
			case 'y':
				if first {
					emit('y')
				} else {
					first = false
				}
			case 'c':
				emit('k')
			case '5':
				emit('x')
			case '7':
				emit('h')
			case '6':
				emit('t')
			case '9':
				emit('s')
			case '8':
				emit('q')
			default:
				if c >= '0' && c <= '9' {
					first = false
					continue
				}
				emit(c)
			}
		}
	}
	if n := len(buf); n > 0 && buf[n-1] == 'h' {
		buf = buf[:n-1]
	}
	if len(buf) < 2 {
		return buf[:0]
	}
	return buf
}
