package content

import (
	"strings"

	"putokaz/internal/match"
)

// maxScanWords bounds how much of a long message is searched for keywords.
const maxScanWords = 200

// keywordIndex maps folded keywords to their flow, built once per load.
type keywordIndex struct {
	all       map[string]Keyword
	emergency map[string]Keyword
	maxWords  int
}

func (c *Content) indexKeywords() {
	c.kw = keywordIndex{all: map[string]Keyword{}, emergency: map[string]Keyword{}}
	for _, k := range c.Keywords {
		c.kw.all[k.Folded] = k
		if k.Flow == c.Emergency {
			c.kw.emergency[k.Folded] = k
		}
		c.kw.maxWords = max(c.kw.maxWords, strings.Count(k.Folded, " ")+1)
	}
}

// MatchKeyword finds the flow a folded text asks for: the longest keyword
// phrase found as whole words anywhere in it.
func (c *Content) MatchKeyword(folded string) (Keyword, bool) {
	return c.kw.match(c.kw.all, folded, nil)
}

// MatchKeywordFor is MatchKeyword for a reader of a language: keywords of
// flows that do not serve it are passed over, so a longer phrase of such a
// flow does not hide a shorter one of a flow the reader can open.
func (c *Content) MatchKeywordFor(folded, lang string) (Keyword, bool) {
	return c.kw.match(c.kw.all, folded, func(k Keyword) bool { return c.Serves(k.Flow, lang) })
}

// MatchEmergency finds an emergency word. With exact set (the person is
// answering a question), only a message that is nothing but the word counts,
// so an answer that merely contains it is not taken away.
func (c *Content) MatchEmergency(folded string, exact bool) (Keyword, bool) {
	if exact {
		k, ok := c.kw.emergency[folded]
		return k, ok
	}
	return c.kw.match(c.kw.emergency, folded, nil)
}

// MatchDanger finds an emergency word that names an immediate danger
// (attacked, ambulance, fire, …) anywhere in a folded text, skipping the
// generic calls for help ("help", "doctor"; see match.IsGeneric), which only
// open the emergency numbers when nothing else in the message is understood,
// and service words (police, trafficking; see match.IsService).
func (c *Content) MatchDanger(folded string) (Keyword, bool) {
	return c.kw.match(c.kw.emergency, folded, func(k Keyword) bool {
		return !match.IsGeneric(k.Folded) && !match.IsService(k.Folded)
	})
}

// MatchService finds an emergency word that names a service or a crime
// (police, trafficking; see match.IsService) anywhere in a folded text.
func (c *Content) MatchService(folded string) (Keyword, bool) {
	return c.kw.match(c.kw.emergency, folded, func(k Keyword) bool { return match.IsService(k.Folded) })
}

// match finds the longest keyword in folded; with allow set, only keywords
// it allows count.
func (ix *keywordIndex) match(m map[string]Keyword, folded string, allow func(Keyword) bool) (Keyword, bool) {
	if folded == "" || len(m) == 0 {
		return Keyword{}, false
	}
	if k, ok := m[folded]; ok && (allow == nil || allow(k)) {
		return k, true
	}
	// Word boundaries of the folded text (single spaces between words).
	var starts, ends [maxScanWords]int
	n := 0
	start := 0
	for i := 0; i <= len(folded) && n < maxScanWords; i++ {
		if i == len(folded) || folded[i] == ' ' {
			starts[n], ends[n] = start, i
			n++
			start = i + 1
		}
	}
	for size := min(ix.maxWords, n); size >= 1; size-- {
		for i := 0; i+size <= n; i++ {
			if k, ok := m[folded[starts[i]:ends[i+size-1]]]; ok && (allow == nil || allow(k)) {
				return k, true
			}
		}
	}
	return Keyword{}, false
}
