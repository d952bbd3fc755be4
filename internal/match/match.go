package match

import (
	"slices"
	"strings"
)

// Candidate is one target that the message matches.
type Candidate struct {
	Target string
	Score  float64
	// Lang is the language family whose examples matched best.
	Lang Family
	// own is the score before a step's support from its flow (Decide).
	own float64
	// words are the message's words the score comes from (bit i: word i).
	words uint64
}

// Flow is the flow part of the target ("shelter" of "shelter/where").
func (c Candidate) Flow() string {
	f, _, _ := strings.Cut(c.Target, "/")
	return f
}

// Result is what a message matches.
type Result struct {
	// Candidates are the matched targets, best first, at most maxCandidates,
	// each target once.
	Candidates []Candidate
	// Lang is the language family the message is written in, when that is
	// clear (LangKnown): most of its words are known in that language and
	// in no other as many.
	Lang      Family
	LangKnown bool
	// LangWords is how many of its words the language knows (romanised
	// words count half).
	LangWords float64
}

const maxCandidates = 6

// crossPenalty scales the scores of the Latin family a message is clearly
// not written in.
const crossPenalty = 0.6

// exactScore is the score of a message that is word for word one of the
// phrasings: far above anything ranking gives.
const exactScore = 100

// Match ranks every target against text. A message that is word for word
// one of the phrasings goes to that phrasing's target. It is safe for
// concurrent use.
func (ix *Index) Match(text string) Result {
	var buf [maxTokens]string
	toks := tokens(text, buf[:0])
	res := ix.rank(toks, text)
	if e, ok := ix.exact[strings.Join(toks, " ")]; ok && len(toks) > 0 {
		res.Candidates = []Candidate{{Target: ix.targets[e.target], Score: exactScore, Lang: e.fam}}
	}
	return res
}

// Rank ranks every target against text without the word-for-word
// shortcut: how the matcher generalises, which the content check reports
// for each phrasing.
func (ix *Index) Rank(text string) Result {
	var buf [maxTokens]string
	return ix.rank(tokens(text, buf[:0]), text)
}

func (ix *Index) rank(toks []string, text string) Result {
	var res Result
	if len(toks) == 0 || len(ix.targets) == 0 {
		return res
	}
	st := stemPool.get()
	defer stemPool.put(st)
	scores := make([]float32, len(ix.targets)*int(numFamilies))
	// explained holds, per target and family, which of the message's
	// words (bit i for toks[i]) its score comes from.
	var explBuf [256]uint64 // on the stack for content of up to 64 targets
	var explained []uint64
	if len(scores) <= len(explBuf) {
		explained = explBuf[:len(scores)]
	} else {
		explained = make([]uint64, len(scores))
	}
	var known [numFamilies]float32
	var seenBy [numFamilies][maxTokens]int32
	var nseenBy [numFamilies]int
	// Everything about a word that does not depend on the field, once.
	type word struct {
		skip, stop, latin, latinKnown, scriptKnown bool
		stems                                      [numFamilies]string
	}
	var words [maxTokens]word
	content := 0
	// evidence of English or Serbian besides the words the fields know:
	// their own stop words ("treba mi", "i want").
	var evidence [numFamilies]float32
	ages, ageWords := minorAges(toks)
	for i, tok := range toks {
		w := &words[i]
		if ages&(1<<i) != 0 {
			for f := range w.stems {
				w.stems[f] = minorTerm
			}
			content++
			continue
		}
		w.skip = helpWords[tok] || isNumber(tok) || whatToDo(toks, i) || ageWords&(1<<i) != 0
		if w.skip {
			continue
		}
		sm := stopMask[tok]
		w.stop = sm != 0
		w.latin = scriptOf(tok) == latinScript
		switch sm & stopInLatin {
		case stopInEN:
			evidence[English] += 0.5
		case stopInSR:
			evidence[Serbian] += 0.5
		}
		for f := Family(0); f < numFamilies; f++ {
			w.stems[f] = st.stem(f, tok)
		}
		if w.latin {
			for _, f := range []Family{English, Serbian} {
				if _, ok := ix.fields[f].terms[w.stems[f]]; ok && w.stems[f] != "" {
					w.latinKnown = true
				}
			}
		} else {
			// A word of the script that Arabic or Persian knows as it is
			// needs no skeleton in the other: Persian مرز (border) and
			// Arabic مرض (illness) share one.
			for _, f := range []Family{Arabic, Persian} {
				if _, ok := ix.fields[f].terms[w.stems[f]]; ok && w.stems[f] != "" {
					w.scriptKnown = true
				}
			}
		}
		if !w.stop {
			content++
		}
	}
	var skbuf [64]byte
	for f := Family(0); f < numFamilies; f++ {
		fl := &ix.fields[f]
		if len(fl.terms) == 0 {
			continue
		}
		nseen := 0
		seen := seenBy[f][:]
		acc := scores[int(f)*len(ix.targets) : int(f+1)*len(ix.targets)]
		expl := explained[int(f)*len(ix.targets) : int(f+1)*len(ix.targets)]
		for i, tok := range toks {
			wd := &words[i]
			if wd.skip {
				continue
			}
			id, w, ok := int32(0), float32(0), false
			if t := wd.stems[f]; t != "" && (!wd.latin || f < Arabic || !wd.latinKnown) {
				id, w, ok = fl.lookup(t)
				if !ok && !wd.stop {
					// Another reading of the word: a clitic or a spoken
					// ending the stemmer does not know.
					if alt := st.alternative(f, toks[i]); alt != "" && alt != t {
						id, w, ok = fl.lookup(alt)
						w *= weightAlternative
					}
				}
				if !ok && !wd.stop && wd.latin {
					// A typo the stemmer turned into another key: the
					// word as typed, near a word of the phrasings.
					id, w, ok = fl.spell.lookup(fl, tok)
				}
			}
			// A romanised word that only a typo lookup found (ji3an near
			// ju3an) may be typed as well in the script: its skeleton is
			// the better evidence then.
			if (!ok || (wd.latin && w < weightSkeleton)) && (f == Arabic || f == Persian) && !wd.stop && !wd.latinKnown && !wd.scriptKnown {
				// A skeleton drops most letters: only three consonants or
				// more say enough (two-letter ones collide all the time).
				sk := append(skbuf[:0], '~')
				sk = append(sk, skeleton(tok, skbuf[1:1])...)
				// A romanised word of three or four letters (pul, tab, akel) may
				// meet a two-letter skeleton: typed words that short are
				// rarely anything else.
				// An Arabizi digit (ji3an, lju2) marks a romanised word, so
				// two consonants are enough in a word of five letters too;
				// longer ones collapse too much (7ammam, a bath, is حماية).
				arabizi := wd.latin && strings.ContainsAny(tok, "2356789")
				if len(sk) > 3 || (len(sk) == 3 && wd.latin && (len(tok) <= 4 || (arabizi && len(tok) <= 5))) {
					if sid, found := fl.terms[string(sk)]; found {
						id, w, ok = sid, weightSkeleton, true
					}
				}
				// Finglish writes the Persian ending ـم (I am, my) on the
				// word: gorosnam, khastam, pedaram are گرسنه، خسته، پدر.
				if (!ok || w < weightSkeleton) && f == Persian && wd.latin && len(tok) > 5 && strings.HasSuffix(tok, "am") {
					q := append(skbuf[:0], '~')
					q = append(q, skeleton(tok[:len(tok)-2], skbuf[1:1])...)
					if sid, found := fl.terms[string(q)]; found && len(q) > 3 {
						id, w, ok = sid, weightSkeleton, true
					}
				}
				// Levantine and Egyptian speakers say ق as a glottal stop and
				// type it 2 after a letter (7ari2 for حريق; a 2 first is
				// hamza: 2rja3): the word with ق, when known, says more.
				if i2 := strings.IndexByte(tok, '2'); wd.latin && i2 > 0 {
					q := append(skbuf[:0], '~')
					q = append(q, skeleton(strings.ReplaceAll(tok, "2", "8"), skbuf[1:1])...)
					if sid, found := fl.terms[string(q)]; found && len(q) > 3 {
						id, w, ok = sid, weightSkeleton, true
					}
				}
			}
			if !ok || slices.Contains(seen[:nseen], id) {
				continue
			}
			seen[nseen] = id
			nseen++
			nseenBy[f] = nseen
			if wd.latin && (f == Arabic || f == Persian) {
				known[f] += w / 2 // a romanised word is weaker evidence of the language
			} else {
				known[f] += w
			}
			idf := fl.idf[id] * w
			for _, p := range fl.post[id] {
				acc[p.doc] += idf * p.tf * (k1 + 1) / (p.tf + fl.norm[p.doc])
				expl[p.doc] |= 1 << i
			}
		}
	}
	// A target whose phrasings the message covers only in part ("job"
	// against "job abroad") counts less than one with a phrasing it
	// covers whole ("need job"); only the targets near the top of a field
	// are looked at.
	for f := Family(0); f < numFamilies; f++ {
		fl := &ix.fields[f]
		acc := scores[int(f)*len(ix.targets) : int(f+1)*len(ix.targets)]
		top := float32(0)
		for _, v := range acc {
			top = max(top, v)
		}
		if top == 0 {
			continue
		}
		matched := seenBy[f][:nseenBy[f]]
		for t, v := range acc {
			if v < coverageFloor*top || t >= len(fl.docs) {
				continue
			}
			acc[t] = v * (1 - coverageWeight + coverageWeight*coverage(fl.docs[t], matched))
		}
	}
	// English and Serbian share the Latin letters and some words (English
	// keywords hold Serbian ones for readers who picked English): when a
	// message is clearly in one of them, the other's scores count less.
	if en, sr := known[English]+evidence[English], known[Serbian]+evidence[Serbian]; en >= sr+1 || sr >= en+1 {
		other := English
		if en > sr {
			other = Serbian
		}
		for i := range ix.targets {
			scores[int(other)*len(ix.targets)+i] *= crossPenalty
		}
	}
	// Best family per target.
	for t := range ix.targets {
		best, fam := float32(0), Family(0)
		for f := Family(0); f < numFamilies; f++ {
			if s := scores[int(f)*len(ix.targets)+t]; s > best {
				best, fam = s, f
			}
		}
		if best > 0 {
			res.Candidates = append(res.Candidates, Candidate{Target: ix.targets[t], Score: float64(best), Lang: fam,
				words: explained[int(fam)*len(ix.targets)+t]})
		}
	}
	slices.SortStableFunc(res.Candidates, func(a, b Candidate) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return strings.Compare(a.Target, b.Target)
	})
	if len(res.Candidates) > maxCandidates {
		res.Candidates = res.Candidates[:maxCandidates]
	}
	res.Lang, res.LangKnown = detect(known, content, text)
	res.LangWords = float64(known[res.Lang])
	return res
}

// Coverage: a target's score is scaled by 1-coverageWeight+coverageWeight*c,
// c the largest share of one of its phrasings' words that the message has;
// targets under coverageFloor of the field's best are left as they are.
const (
	coverageWeight = 0.3
	coverageFloor  = 0.3
)

// coverage is the largest share of one phrasing's words among matched
// terms.
func coverage(docs [][][]int32, matched []int32) float32 {
	best := float32(0)
	for _, doc := range docs {
		if len(doc) == 0 {
			continue
		}
		n := 0
		for _, w := range doc {
			for _, id := range w {
				if slices.Contains(matched, id) {
					n++
					break
				}
			}
		}
		if c := float32(n) / float32(len(doc)); c > best {
			best = c
			if best == 1 {
				break
			}
		}
	}
	return best
}

func isStop(tok string) bool { return stopMask[tok] != 0 }

// detect names the language of a message: the family that knows most of
// its words, if it knows at least half of them and clearly more than any
// other family.
func detect(known [numFamilies]float32, content int, raw string) (Family, bool) {
	// Letters that only Persian uses, or only Arabic, tip the balance.
	if strings.ContainsAny(raw, "پچژگ") {
		known[Persian] += 0.5
	}
	if strings.ContainsAny(raw, "ةى") {
		known[Arabic] += 0.5
	}
	best, second := Family(0), float32(0)
	for f := Family(1); f < numFamilies; f++ {
		if known[f] > known[best] {
			best = f
		}
	}
	for f := Family(0); f < numFamilies; f++ {
		if f != best && known[f] > second {
			second = known[f]
		}
	}
	// One word is never clear: "police" or "salam" are typed in every
	// language.
	if known[best] < 2 || known[best]*2 < float32(content) || known[best] < second+1 {
		return 0, false
	}
	return best, true
}

// stemPool hands out stemmers (their snowball environments are reused
// buffers) without a sync.Pool allocation per call.
var stemPool = newPool()
