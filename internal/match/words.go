package match

import (
	"slices"
	"strings"

	"putokaz/internal/textnorm"
)

// Word lists are written as people type and folded when the package loads,
// so they compare with folded input (Serbian without diacritics, Persian
// yeh and keheh, ة as ه).

func foldSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		if f := textnorm.Fold(w); f != "" {
			m[f] = true
		}
	}
	return m
}

// Stop words: words that say nothing about the topic. Kept short on
// purpose: "home", "back", "alone" or "where" carry meaning here.
var (
	stopEN = foldSet("a", "an", "the", "i", "im", "i'm", "me", "my", "mine", "you", "your", "we", "our", "us", "he", "she", "it",
		"is", "am", "are", "was", "were", "be", "been", "do", "does", "did", "to", "of", "in", "on", "at", "for", "with",
		"and", "or", "but", "so", "this", "that", "there", "here", "please", "pls", "plz", "can", "could", "would", "will",
		"want", "wanna", "need", "needs", "like", "some", "any", "have", "has", "had", "get", "got", "a", "about", "from",
		"what", "how", "which", "ok", "okay", "just", "very", "much", "also", "too", "if", "know", "tell", "give",
		"should", "must", "now", "u", "ur", "r",
		"wants", "wanted", "needed", "im", "ive", "id", "its", "it's",
		"urgent", "urgently", "asap", "quick", "quickly", "really", "still", "already", "bro", "dear", "sir", "madam",
		"as", "by", "an",
		// "thx alot": a lot says nothing (and its skeleton would match Arabizi).
		"alot", "lot", "lots")
	stopSR = foldSet("ja", "ti", "mi", "vi", "on", "ona", "ono", "oni", "me", "te", "se", "si", "je", "smo", "ste", "su",
		"i", "a", "ali", "ili", "da", "li", "u", "na", "za", "od", "do", "sa", "s", "o", "po", "iz", "k", "ka", "kod",
		"moj", "moja", "moje", "moji", "mog", "mene", "meni", "mnom", "tebi", "nam", "nas", "vam", "vas", "im", "ih", "ga", "joj",
		"to", "taj", "ta", "ovo", "ovaj", "ova", "tu", "ovde", "molim", "vas", "treba", "trebam", "trebalo", "hocu", "zelim",
		"mogu", "moze", "mozete", "bih", "bi", "ce", "cu", "sta", "kako", "neki", "neku", "nesto", "jos", "vec", "samo",
		"ok", "jel", "jeli", "jer", "kad", "kada", "ako", "imam", "ima", "nemam",
		// Pronoun and auxiliary forms, particles and intensifiers.
		"sad", "sada", "onda", "preko", "dal", "dali", "zasto", "jako", "puno", "mnogo", "vrlo",
		"veoma", "njega", "nje", "njoj", "njih", "njima", "mu", "mojim", "moju", "mojoj", "svoj", "svoju", "svoje", "svojim",
		"tvoj", "tvoja", "nasa", "nase", "vasa", "neko", "nekoga", "nekog", "malo", "biti", "bio", "bila", "bili", "budem",
		"bude", "jesam", "nisam", "nije", "nisu", "imaju", "imamo", "imas", "trebaju", "trebas", "potrebno", "potreban",
		"potrebna", "potrebni", "hteo", "htela", "hocemo", "zelimo", "zeleo", "zelela", "mozemo", "moram", "moramo", "mozes",
		"evo", "eto", "pa", "ovdje", "ovu", "sto", "što", "ovih", "onaj", "uopste", "tek", "bas", "ni", "niti", "tom", "tog", "toga", "tome",
		// Urgency says nothing about the topic (the emergency check reads it).
		"hitno", "odmah", "brzo",
		// Spoken forms without h- (oću for hoću) and words of address
		// ("hvala brate" thanks, it asks for no brother).
		"ocu", "oces", "ocemo", "ocete", "brate", "druze", "sestro", "burazeru",
		// The other persons of hteti, želeti, trebati (hoće da ide kući:
		// wanting says nothing of the topic; hoće da me ubije is an
		// emergency by its other words).
		"hoce", "hoces", "hocete", "zeli", "zelis", "zelite", "zele", "htio", "htjela", "htela", "treba", "trebamo", "trebate",
		// Short forms typed on phones: il (ili), nmg (ne mogu), mlm and
		// mlmte (molim te), pls.
		"il", "nmg", "mlm", "mlmte", "molimte", "pls", "plz")
	stopAR = foldSet("انا", "أنا", "انت", "نحن", "هو", "هي", "في", "من", "الى", "إلى", "على", "عن", "مع", "و", "او", "أو", "ثم",
		"هذا", "هذه", "ذلك", "تلك", "هناك", "هنا", "ان", "أن", "إن", "لا", "ما", "ماذا", "كيف", "هل", "لو", "اذا", "إذا",
		"لي", "لك", "عندي", "بدي", "بدى", "اريد", "أريد", "عايز", "عاوز", "ابغى", "ابي", "احتاج", "أحتاج", "محتاج", "ممكن", "يمكن",
		"يمكنني", "لو سمحت", "سمحت", "من فضلك", "فضلك", "رجاء", "الرجاء", "شي", "شيء", "كل", "قد", "لقد", "كان", "يا", "بس",
		// Levantine, Egyptian and Gulf function words.
		"فيني", "فيك", "فيه", "فيها", "فينا", "فيهم", "عم", "رح", "راح", "هيك", "شو", "ايش", "اللي", "الي", "يلي", "مش", "مو",
		"كتير", "كثير", "جدا", "معي", "معك", "معه", "عندك", "عنده", "عندنا", "اشي", "انو",
		"انه", "انها", "كمان", "برضو", "منشان", "عشان", "علشان", "لحتى", "بدنا", "بدو", "بدها",
		"عاجل", "بسرعة",
		// Words of address: "shukran ya akhi" thanks, it asks for no brother.
		"اخوي", "خيو", "حبيبي", "akhi", "habibi", "khayo")
	stopFA = foldSet("من", "تو", "ما", "شما", "او", "اون", "آن", "این", "در", "به", "از", "با", "برای", "براي", "که", "و", "یا",
		"را", "رو", "هم", "است", "هست", "هستم", "هستیم", "بود", "شد", "می", "ای", "یک", "یه", "چی", "چه", "چطور", "چگونه",
		"لطفا", "لطفاً", "خواهش", "میکنم", "می‌کنم", "کنم", "کنید", "کن", "دارم", "داریم", "میخواهم", "میخوام", "می‌خواهم",
		"میخواستم", "خواستم", "باید", "میتونم", "می‌توانم", "میتوانم", "توانم", "لازم", "نیاز", "آیا", "ایا", "اینجا", "اونجا",
		// Plural endings typed apart from their noun ("قاچاقچی ها").
		"ها", "های",
		"خیلی", "بسیار", "دیگه", "دیگر", "مرا", "کردن", "کردند", "کردن", "کرده", "شده", "میکنه", "میکند", "میکنن", "کنه", "کنن", "مارا", "ما را", "اینو", "اونو", "شون", "تون", "اند", "بودم", "باشه",
		"فوری", "زود", "عاجل")
)

// Which stop lists a word is on, in one map: a message's words are
// looked up once per family, and one lookup is cheaper than five.
const (
	stopInEN uint8 = 1 << iota
	stopInSR
	stopInAR
	stopInFA
	stopInRoman
	stopInLatin  = stopInEN | stopInSR
	stopInArabic = stopInAR | stopInFA
)

var stopMask = func() map[string]uint8 {
	m := map[string]uint8{}
	for _, l := range []struct {
		set  map[string]bool
		mask uint8
	}{{stopEN, stopInEN}, {stopSR, stopInSR}, {stopAR, stopInAR}, {stopFA, stopInFA}, {romanStop, stopInRoman}} {
		for w := range l.set {
			m[w] |= l.mask
		}
	}
	return m
}()

// romanStop are romanised Farsi and Arabic function words, dropped before
// their skeletons are taken (their skeletons would match anything).
var romanStop = foldSet("man", "to", "ma", "shoma", "u", "oo", "in", "dar", "be", "az", "ba", "baraye", "bara", "ke", "va", "ya",
	"ra", "ro", "ham", "ast", "hast", "hastam", "mikham", "mikhaam", "mikhastam", "mikhaham", "khahesh", "lotfan", "lotfn",
	"daram", "dare", "dari", "konam", "konid", "kon", "bayad", "mitonam", "mitunam", "lazem", "niaz", "chi", "che", "chetor",
	"ana", "enta", "inta", "ani", "fi", "fe", "min", "mn", "men", "ila", "ela", "3la", "ala", "3an", "an", "ma3", "wa", "w", "aw",
	"hatha", "hada", "hadha", "hon", "hona", "hena", "huna", "la", "shu", "sho", "shou", "eh", "esh", "kif", "keef", "kaif", "hal",
	"li", "li", "lak", "3ndi", "andi", "3andi", "bdi", "badi", "biddi", "bade", "arid", "ureed", "orid", "3ayez", "3ayz", "abi", "abgha",
	"ahtaj", "a7taj", "m7taj", "mumkin", "momken", "mmkn", "ya", "bas", "law", "please", "pls", "plz",
	// Finglish "very" (خیلی): "kheyli narahatam" is no "kheyli mamnoon".
	"kheyli", "kheili", "kheily", "khili", "khyli", "kheli",
	// Levantine "very", and Finglish forms of "do" and "be" that follow the
	// word that matters ("dard mikone", "khaste am"): their skeletons meet
	// Arabic words (mikone, mkn: مكان, a place).
	"ktir", "kteer", "ktiir", "kter", "mish", "mesh", "msh", "mush", "3arf", "3aref", "ba3ref", "ba3rif", "b3rf", "3rf", "mikone", "mikonam", "mikoni", "mikonim", "mikonan", "mikonid", "mikne",
	"kone", "konan", "mishe", "mishavad", "shode", "shodam", "shodim", "shodan", "am", "im", "nist", "nistam", "nistan",
	"hastan", "hastim", "hasti")

// helpWords ask for help and say nothing about which help: the matcher
// ignores them, so "I need legal help" is about legal help.
var helpWords = foldSet(
	"help", "helpme", "sos",
	"pomoc", "upomoc", "pomozite", "pomozi", "pomognete", "pomogne",
	"مساعدة", "المساعدة", "مساعده", "ساعدني", "ساعدوني", "ساعدنا", "النجدة", "نجدة",
	"musaada", "mosa3ada", "mosaada", "mousa3ada", "musa3ada", "sa3edni", "sa3idni", "sa3dni",
	"کمک", "کمکم", "komak", "komakam", "komk",
)

// Generic words call for help without naming a danger: the help words and
// "doctor", "urgent". They are among the emergency keywords, but a message
// with one opens the topic the rest of it asks for (with one line of
// emergency numbers); only when nothing else matches does it open the
// emergency numbers.
var generic = func() map[string]bool {
	m := foldSet(
		"help me", "need help", "please help", "doctor", "urgent",
		// Violence at home is a disclosure for women_children/violence (with
		// the emergency line), not a call for the police alone.
		"beats me", "hits me", "beaten", "бије ме", "туче ме", "удара ме", "bije me", "tuce me", "udara me",
		"ме бије", "ме туче", "ме удара",
		"ضربني", "يضربني", "يضربونني", "کتک", "کتکم زد", "کتکم زدند", "مرا می‌زند", "مرا زد",
		"помоћ", "упомоћ", "помозите", "хитно", "hitno", "doktor", "доктор", "lekar", "лекар",
		"ljekar", "љекар", "lijecnik", "лијечник",
		// A threat ("he will hurt my family if I do not pay") is about who
		// threatens, with the emergency line; "he is hurting me" is a danger.
		"hurt",
		"طبيب", "الطبيب", "دكتور", "عاجل", "مستعجل", "dktor",
		"کمک کنید", "کمکم کنید", "کمک فوری", "دکتر", "داکتر", "فوری", "komakam konid", "komak konid", "daktar", "dactar", "fori", "fouri",
	)
	for w := range helpWords {
		m[w] = true
	}
	return m
}()

// IsGeneric reports whether a folded emergency keyword is a generic call
// for help rather than a named danger.
func IsGeneric(folded string) bool { return generic[folded] }

// Service words name whom to call (the police) or a crime by its name
// (trafficking) rather than a danger happening now: "the police pushed us
// back over the border" is about push-backs, "what are the signs of
// trafficking" about trafficking. A message with one opens the topic the
// rest of it clearly asks for, with one line of emergency numbers; when no
// single topic is clear, it opens the emergency numbers, as before.
var service = foldSet(
	"police", "policija", "policiju", "полиција", "полицију",
	"شرطة", "الشرطة", "بوليس", "البوليس", "shurta", "shorta", "bolis",
	"پلیس", "پولیس", "polis",
	"trafficking", "human trafficking", "трговина људима", "трговина људи", "трафикинг", "trgovina ljudima", "trgovina ljudi", "trafiking",
	"اتجار بالبشر", "الاتجار بالبشر", "قاچاق انسان", "ghachagh ensan",
)

// IsService reports whether a folded emergency keyword is a service word
// (see service).
func IsService(folded string) bool { return service[folded] }

// maxWords bounds the words of one unmatched message that are counted.
const maxWords = 8

// Words are the normalised single words of a message, as the unmatched-
// words statistics count them: folded, no numbers (nor words with digits,
// which may be codes or phone numbers), no stop words, each once, two to 24
// bytes long, at most eight.
func Words(text string) []string {
	var buf [maxTokens]string
	var out []string
	for _, tok := range tokens(text, buf[:0]) {
		if len(tok) < 2 || len(tok) > 24 || isStop(tok) || strings.ContainsAny(tok, "0123456789") {
			continue
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
		if len(out) == maxWords {
			break
		}
	}
	return out
}

// doForms are the Serbian verb "do, work" (raditi) as "what do I do"
// asks it.
var doForms = foldSet("radim", "radimo", "radi", "raditi", "uradim", "uradimo", "uraditi", "radit", "uradit",
	// Arabic "what do I do" (شو اعمل, shu a3mel) is no question about work either (عمل).
	"اعمل", "نعمل", "بعمل", "منعمل", "بدي اعمل", "افعل", "نفعل", "a3mel", "a3mal", "a3ml", "n3mel", "na3mel", "ba3mel", "ne3mel")

// whatWords ask "what" before a form of "do" (see whatToDo).
var whatWords = foldSet("sta", "shta", "sto", "st", "شو", "ايش", "شنو", "ماذا", "وش", "شو بدي", "shu", "sho", "shou", "esh", "eh", "ash")

// whatToDo reports a form of raditi that asks "what do I do now" ("odbili
// su mi azil, šta sad da radim", "šta mi je raditi"), which is no question
// about work: šta (or sto) at most three words before it, "da" right
// before it or šta (mi je) right before it.
func whatToDo(toks []string, i int) bool {
	if !doForms[toks[i]] || i == 0 {
		return false
	}
	what := func(t string) bool { return whatWords[t] }
	prev := toks[i-1]
	if what(prev) || (prev == "je" && i >= 3 && toks[i-2] == "mi" && what(toks[i-3])) {
		return true
	}
	if prev != "da" {
		return false
	}
	for j := i - 2; j >= 0 && j >= i-4; j-- {
		if what(toks[j]) {
			return true
		}
	}
	return false
}

// violenceNow pairs the words of violence against the writer (in either
// word order) with the words that say it is happening as the person types,
// by language: Serbian "sad" (now) is English "sad".
var violenceNow = []struct{ violence, now map[string]bool }{
	{foldSet("beats me", "hits me", "beating me", "hitting me", "attacking me"), foldSet("now", "rightnow")},
	{foldSet("бије ме", "туче ме", "удара ме", "ме бије", "ме туче", "ме удара", "напада ме", "ме напада"),
		foldSet("сад", "сада", "одмах", "управо", "тренутно")},
	{foldSet("ضربني", "يضربني", "يضربونني", "عم يضربني", "عم يضربوني"),
		foldSet("الان", "الآن", "هلق", "هلأ", "هسا", "هسه", "دلوقتي", "حاليا", "الحين", "alan", "el2an", "hala2")},
	{foldSet("کتک", "کتکم زد", "کتکم زدند", "مرا می‌زند", "منو میزنه", "منو میزنن"), foldSet("حالا", "الان", "الآن", "همین", "alan")},
}

// ViolenceNow reports a folded message that names violence against the
// writer (he beats me, туче ме) and says it is happening now: danger now,
// for the emergency numbers rather than the page about violence at home.
func ViolenceNow(folded string) bool {
	padded := " " + folded + " "
	for _, l := range violenceNow {
		now := false
		for w := range strings.SplitSeq(folded, " ") {
			if l.now[w] {
				now = true
				break
			}
		}
		if !now {
			continue
		}
		for v := range l.violence {
			if strings.Contains(padded, " "+v+" ") {
				return true
			}
		}
	}
	return false
}

// negations are the words that turn the danger word after them into its
// opposite ("nije opasno", "not dangerous"). Kept to plain "is not": "no
// ambulance came" or "nema hitne" still tell of a danger.
var negations = foldSet("not", "isnt", "isn't", "nije", "није", "مش", "ليس")

// Negated reports whether the keyword kw (folded) stands in folded only
// right after a negation: "treba mi lekar, nije opasno" names no danger.
func Negated(folded, kw string) bool {
	padded := " " + folded + " "
	found := false
	for rest := padded; ; {
		i := strings.Index(rest, " "+kw+" ")
		if i < 0 {
			break
		}
		found = true
		before := strings.TrimSpace(rest[:i])
		if j := strings.LastIndexByte(before, ' '); j >= 0 {
			before = before[j+1:]
		}
		if !negations[before] {
			return false
		}
		rest = rest[i+len(kw)+1:]
	}
	return found
}

// minorTerm is the index term of a child's age ("im 15", "imam 14
// godina", "عمري ١٦", "15 salame"): a number alone says nothing, but a
// child stating their age with no one else named is what the page for
// children alone answers, in any language and whatever else the message
// says ("im 15 no family here" is no search for relatives).
const minorTerm = "#minor"

// minorAges reports which of toks (bit i for toks[i]) are an age a child
// would give (10 to 17) stated as an age, and which are the age word that
// says so: an age word right before the number (i am, imam, عمري) or right
// after it (years, godina, سنة, سال). The age word is part of the age, not
// a word of its own ("godina" also counts years in Serbia).
func minorAges(toks []string) (ages, ageWords uint64) {
	for i, t := range toks {
		if i >= 64 || len(t) != 2 || t[0] != '1' || t[1] < '0' || t[1] > '7' {
			continue
		}
		switch {
		case i > 0 && ageBefore[toks[i-1]]:
			ages |= 1 << i
			ageWords |= 1 << (i - 1)
			if i+1 < len(toks) && i+1 < 64 && ageAfter[toks[i+1]] {
				ageWords |= 1 << (i + 1)
			}
		case i+1 < len(toks) && i+1 < 64 && ageAfter[toks[i+1]]:
			ages |= 1 << i
			ageWords |= 1 << (i + 1)
		}
	}
	return ages, ageWords
}

var (
	ageBefore = foldSet("im", "i'm", "am", "age", "aged", "imam", "ima", "imas", "imamo", "имам", "има",
		"عمري", "عمرى", "عمره", "عمرها", "عمرو", "3omri", "3umri", "3mri", "omri", "umri", "3omro", "3omra", "sinni",
		"سنم", "sinnam", "sennam")
	ageAfter = foldSet("years", "year", "yrs", "yr", "yo", "y/o", "old", "godina", "godine", "god", "g", "godinu",
		"година", "године", "год", "سنة", "سنه", "سنين", "سنوات", "sne", "sana", "sene", "snin",
		"سال", "سالمه", "ساله", "سالم", "سالمه", "sal", "sale", "salam", "salame", "salme", "saleh", "salama")
)
