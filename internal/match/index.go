// Package match understands typed text: it ranks every topic target (a flow
// or a flow's step) against a message with BM25 over the example phrasings,
// keywords and titles editors write in locales/, in all languages at once,
// and says which language the match came from.
//
// Text is folded (textnorm.Fold), split into words and turned into terms by
// one analyser per language family: Snowball stemmers for English and
// Arabic (github.com/blevesearch/snowballstem), light stemmers for Serbian
// and Persian, and for Arabic and Persian also a romanised consonant
// skeleton that lets Finglish and Arabizi ("komak", "bdi 2rja3") meet the
// Arabic script. Longer words tolerate a typo or two.
//
// The package is pure and its Index is read-only after Build, so one index
// serves every conversation and is swapped whole on a content reload.
package match

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Special targets that are answers, not topics.
const (
	Greeting = "greeting"
	Thanks   = "thanks"
)

// Doc is one piece of text that leads to a target: an example phrasing, a
// keyword or a title, in the language Lang (a content tag such as "sr-Cyrl").
type Doc struct {
	Target string
	Lang   string
	Text   string
}

// BM25 parameters. b is lower than the usual 0.75 because a target's
// document is many short examples glued together: more examples should not
// make a target harder to reach.
const (
	k1 = 1.2
	b  = 0.4
)

// Weights of terms found by other means than the exact stem.
const (
	weightTypo1    = 0.8 // one edit away
	weightTypo2    = 0.6 // two edits away
	weightSkeleton = 0.9 // a romanised skeleton (Finglish, Arabizi)
	// weightAlternative: another reading of a word the stemmer left
	// unknown (a clitic taken off, a spoken ending completed).
	weightAlternative = 0.9
)

// Index ranks targets against a message.
type Index struct {
	targets []string
	fields  [numFamilies]field
	// exact maps a phrasing's words (as tokens gives them, joined by
	// spaces) to its target and language: a message that is word for word
	// one of the phrasings goes where the editor put it ("اهلا" is a
	// greeting, though أهل also means family).
	exact map[string]exactDoc
}

type exactDoc struct {
	target int32
	fam    Family
}

type posting struct {
	doc int32
	tf  float32
}

// field is the inverted index of one language family.
type field struct {
	terms map[string]int32
	post  [][]posting
	idf   []float32
	norm  []float32 // per target: k1*(1-b+b*dl/avgdl)
	// scale divides scores by the idf of a word only one target uses, so
	// that scores compare across languages and content sizes.
	scale   float32
	deletes map[string][]int32 // one- and two-letter deletions of longer terms → terms
	words   []string
	// docs are, per target, its phrasings as lists of words, each word the
	// terms it was indexed under (a stem, and a skeleton in Arabic and
	// Persian): how much of a phrasing a message covers.
	docs [][][][]int32
	// spell finds a typed word near a word of the phrasings (English and
	// Serbian), for typos the stemmer turns into another key.
	spell *speller
}

// Build indexes docs. Docs in a language outside the five families are
// ignored (the content check reports them).
func Build(docs []Doc) *Index {
	ix := &Index{}
	tid := map[string]int32{}
	st := newStemmer()
	tf := make([]map[string]float32, 0, 64)
	var fieldTF [numFamilies][]map[string]float32
	var buf [maxTokens]string
	var sk []byte
	type docWords struct {
		target int32
		words  [][]string
	}
	var phrasings [numFamilies][]docWords
	// surface: the words as typed in the phrasings of the Latin families,
	// and the term each stands for (see speller).
	var surface [numFamilies]map[string]string
	ix.exact = map[string]exactDoc{}
	for _, d := range docs {
		fam, ok := FamilyOf(d.Lang)
		if !ok {
			continue
		}
		id, ok := tid[d.Target]
		if !ok {
			id = int32(len(ix.targets))
			tid[d.Target] = id
			ix.targets = append(ix.targets, d.Target)
		}
		if key := strings.Join(tokens(d.Text, buf[:0]), " "); key != "" {
			if _, taken := ix.exact[key]; !taken {
				ix.exact[key] = exactDoc{target: id, fam: fam}
			}
		}
		for int(id) >= len(fieldTF[fam]) {
			fieldTF[fam] = append(fieldTF[fam], nil)
		}
		m := fieldTF[fam][id]
		if m == nil {
			m = map[string]float32{}
			fieldTF[fam][id] = m
		}
		var words [][]string
		toks := tokens(d.Text, buf[:0])
		ages, ageWords := minorAges(toks)
		for i, tok := range toks {
			if ages&(1<<i) != 0 {
				m[minorTerm]++
				words = append(words, []string{minorTerm})
				continue
			}
			if helpWords[tok] || isNumber(tok) || ageWords&(1<<i) != 0 {
				continue
			}
			var terms []string
			if t := st.stem(fam, tok); t != "" {
				m[t]++
				terms = append(terms, t)
				if fam == English || fam == Serbian {
					if surface[fam] == nil {
						surface[fam] = map[string]string{}
					}
					if _, ok := surface[fam][tok]; !ok {
						surface[fam][tok] = t
					}
				}
			}
			if (fam == Arabic || fam == Persian) && !isStop(tok) {
				if sk = skeleton(tok, sk); len(sk) > 0 {
					m["~"+string(sk)]++
					terms = append(terms, "~"+string(sk))
				}
			}
			if len(terms) > 0 {
				words = append(words, terms)
			}
		}
		if len(words) > 0 {
			phrasings[fam] = append(phrasings[fam], docWords{target: id, words: words})
		}
	}
	_ = tf
	for f := range fieldTF {
		fl := buildField(fieldTF[f], len(ix.targets))
		fl.docs = make([][][][]int32, len(ix.targets))
		for _, p := range phrasings[f] {
			doc := make([][]int32, 0, len(p.words))
			for _, w := range p.words {
				ids := make([]int32, 0, len(w))
				for _, t := range w {
					if id, ok := fl.terms[t]; ok {
						ids = append(ids, id)
					}
				}
				doc = append(doc, ids)
			}
			fl.docs[p.target] = append(fl.docs[p.target], doc)
		}
		fl.spell = newSpeller(surface[f], fl.terms)
		ix.fields[f] = fl
	}
	return ix
}

func buildField(docs []map[string]float32, ntargets int) field {
	fl := field{terms: map[string]int32{}, deletes: map[string][]int32{}, norm: make([]float32, ntargets)}
	var total float32
	n := 0
	dl := make([]float32, ntargets)
	for d, m := range docs {
		if len(m) == 0 {
			continue
		}
		n++
		for _, c := range m {
			dl[d] += c
		}
		total += dl[d]
	}
	if n == 0 {
		return fl
	}
	avg := total / float32(n)
	for d := range dl {
		fl.norm[d] = k1 * (1 - b + b*dl[d]/avg)
	}
	for d, m := range docs {
		// Sorted terms, so that term IDs (and thus ties) do not depend on
		// map order.
		keys := make([]string, 0, len(m))
		for t := range m {
			keys = append(keys, t)
		}
		slices.Sort(keys)
		for _, t := range keys {
			id, ok := fl.terms[t]
			if !ok {
				id = int32(len(fl.words))
				fl.terms[t] = id
				fl.words = append(fl.words, t)
				fl.post = append(fl.post, nil)
			}
			fl.post[id] = append(fl.post[id], posting{doc: int32(d), tf: m[t]})
		}
	}
	fl.scale = float32(1 / math.Log(1+(float64(n)-0.5)/1.5))
	fl.idf = make([]float32, len(fl.post))
	for id, p := range fl.post {
		df := float64(len(p))
		fl.idf[id] = float32(math.Log(1+(float64(n)-df+0.5)/(df+0.5))) * fl.scale
		w := fl.words[id]
		if strings.HasPrefix(w, "~") || utf8.RuneCountInString(w) < minTypoLen {
			continue
		}
		for _, del := range deletions(w, maxEdits(w), nil) {
			fl.deletes[del] = append(fl.deletes[del], int32(id))
		}
	}
	return fl
}

// Spelling tolerance: words of five letters or more may be one edit away
// from a known word, of eight or more two edits.
const minTypoLen = 5

func maxEdits(w string) int {
	switch n := utf8.RuneCountInString(w); {
	case n >= 8:
		return 2
	case n >= minTypoLen:
		return 1
	}
	return 0
}

// deletions appends w with up to k runes deleted (w itself included).
func deletions(w string, k int, dst []string) []string {
	dst = append(dst, w)
	if k == 0 {
		return dst
	}
	rs := []rune(w)
	seen := map[string]bool{}
	var rec func(rs []rune, k int)
	rec = func(rs []rune, k int) {
		for i := range rs {
			d := string(rs[:i]) + string(rs[i+1:])
			if seen[d] {
				continue
			}
			seen[d] = true
			dst = append(dst, d)
			if k > 1 && len(rs) > 3 {
				rec([]rune(d), k-1)
			}
		}
	}
	rec(rs, k)
	return dst
}

// EditDistance is the optimal string alignment distance over runes: an
// insertion, deletion, substitution or swap of two neighbours costs one.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// lookup finds a query term: exactly, or else the closest known term within
// the spelling tolerance. It returns the term ID and its weight.
func (fl *field) lookup(t string) (int32, float32, bool) {
	if id, ok := fl.terms[t]; ok {
		return id, 1, true
	}
	k := maxEdits(t)
	if k == 0 && len(t) == minTypoLen-1 && t[0] < utf8.RuneSelf {
		// A Latin word one letter short of a known longer word is that
		// word with a letter dropped (lekr, azil typed azl is too short):
		// fast thumbs drop letters far more often than they add them.
		if ids := fl.deletes[t]; len(ids) > 0 {
			best := ids[0]
			for _, id := range ids[1:] {
				if len(fl.post[id]) > len(fl.post[best]) {
					best = id
				}
			}
			if utf8.RuneCountInString(fl.words[best]) == minTypoLen {
				return best, weightTypo1, true
			}
		}
		return 0, 0, false
	}
	if k == 0 || len(fl.deletes) == 0 {
		return 0, 0, false
	}
	best, bestD := nearest(t, k, fl.deletes, fl.words, func(id int32) int { return len(fl.post[id]) })
	switch {
	case best < 0 || bestD > k:
		return 0, 0, false
	case bestD == 1:
		return best, weightTypo1, true
	default:
		return best, weightTypo2, true
	}
}

// nearest finds the word of words closest to t within k edits, through
// deletes (each word with up to its tolerance of letters deleted → the
// word); ties go to the more popular word. best < 0 when there is none.
func nearest(t string, k int, deletes map[string][]int32, words []string, pop func(int32) int) (best int32, bestD int) {
	best, bestD = int32(-1), k+1
	consider := func(ids []int32) {
		for _, id := range ids {
			if id == best {
				continue
			}
			d := EditDistance(t, words[id])
			if d < bestD || (d == bestD && best >= 0 && pop(id) > pop(best)) {
				best, bestD = id, d
			}
		}
	}
	// The index holds known words with up to two letters deleted; the
	// query needs only itself and its one-letter deletions (written into
	// one buffer: a map lookup by string(bytes) does not allocate).
	consider(deletes[t])
	var buf [128]byte
	if len(t) <= len(buf) {
		for i, r := range t {
			n := copy(buf[:], t[:i])
			n += copy(buf[n:], t[i+utf8.RuneLen(r):])
			consider(deletes[string(buf[:n])])
		}
	}
	if best < 0 && k == 2 && len(t) <= len(buf) {
		// A long word typed with two letters wrong may stem to a longer
		// key than its known form (hospitel, hospital: hospit): the known
		// key is two deletions of the query.
		var buf2 [128]byte
		for i, r := range t {
			n := copy(buf[:], t[:i])
			n += copy(buf[n:], t[i+utf8.RuneLen(r):])
			d1 := buf[:n]
			for j := 0; j < len(d1); {
				_, size := utf8.DecodeRune(d1[j:])
				m := copy(buf2[:], d1[:j])
				m += copy(buf2[m:], d1[j+size:])
				consider(deletes[string(buf2[:m])])
				j += size
			}
		}
	}
	return best, bestD
}

// speller maps the words of the phrasings as typed (English and Serbian)
// to the terms they were indexed under, with the same spelling tolerance
// as terms: a typo can make the stemmer return another key than the known
// word's (shelte → shelt, lonly, streesed), while the word as typed is
// still one or two letters from a known word (shelter, lonely, stressed).
// Words of four letters take part as they are, so that a fifth letter
// typed too many is forgiven (foood).
type speller struct {
	words   []string
	to      []int32 // the term ID each word stands for
	deletes map[string][]int32
}

func newSpeller(surface map[string]string, terms map[string]int32) *speller {
	sp := &speller{deletes: map[string][]int32{}}
	keys := make([]string, 0, len(surface))
	for w := range surface {
		keys = append(keys, w)
	}
	slices.Sort(keys)
	for _, w := range keys {
		tid, ok := terms[surface[w]]
		n := utf8.RuneCountInString(w)
		if !ok || n < minTypoLen-1 {
			continue
		}
		id := int32(len(sp.words))
		sp.words = append(sp.words, w)
		sp.to = append(sp.to, tid)
		// One letter deleted is enough here: the query side deletes up to
		// two (see nearest), and two on both sides would double the time
		// to build the index.
		for _, del := range deletions(w, min(1, maxEdits(w)), nil) {
			sp.deletes[del] = append(sp.deletes[del], id)
		}
	}
	return sp
}

// lookup finds the term of the known word nearest to tok as typed, and
// its weight.
func (sp *speller) lookup(fl *field, tok string) (int32, float32, bool) {
	k := maxEdits(tok)
	if sp == nil || k == 0 || len(sp.words) == 0 {
		return 0, 0, false
	}
	best, d := nearest(tok, k, sp.deletes, sp.words, func(id int32) int { return len(fl.post[sp.to[id]]) })
	switch {
	case best < 0 || d > k:
		return 0, 0, false
	case d == 1:
		return sp.to[best], weightTypo1, true
	default:
		return sp.to[best], weightTypo2, true
	}
}

// Targets lists every target the index knows, in the order first seen.
func (ix *Index) Targets() []string { return ix.targets }
