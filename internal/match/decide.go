package match

import (
	"cmp"
	"slices"
	"sync"
)

// Decision is how to answer a message.
type Decision uint8

const (
	// Nothing matched well enough.
	Nothing Decision = iota
	// Open the one clear winner.
	Open
	// Ask "Did you mean …?" with two or three close targets.
	Ask
)

func (d Decision) String() string {
	return [...]string{"nothing", "open", "ask"}[d]
}

// The answer policy. A target must score at least minScore; the winner is
// clear when the next target (of another flow) scores less than closeRatio
// of it; otherwise up to maxOffered targets within closeRatio are offered.
const (
	minScore   = 0.7
	closeRatio = 0.8
	maxOffered = 3
	// flowSupport is the share of a flow's score added to its steps.
	flowSupport = 0.3
	// greetRatio: a topic scoring this share of a greeting wins over it.
	greetRatio = 0.7
	// stepRatio: when a flow wins but one of its own steps scores at least
	// this share of it, the step is the more precise answer.
	stepRatio = 0.4
)

// Decide applies the answer policy to a result: the decision and the
// targets (one to open, two or three to offer).
func (r Result) Decide() (Decision, []Candidate) {
	// A greeting or thanks wins a message that asks for nothing else; a
	// topic asked for as strongly wins over it ("hi, I need a lawyer" is
	// about the lawyer), and greetings are never offered as "did you mean".
	var greet *Candidate
	topic := 0.0
	for i, c := range r.Candidates {
		switch {
		case c.Target == Greeting || c.Target == Thanks:
			if greet == nil {
				greet = &r.Candidates[i]
			}
		case c.Score > topic:
			topic = c.Score
		}
	}
	if greet != nil && greet.Score >= minScore && topic < greetRatio*greet.Score {
		return Open, []Candidate{*greet}
	}
	d, cs := r.decideTopics()
	// A greeting that scores best is still the answer when the rest names
	// no one topic clearly ("hello is someone there").
	if greet != nil && greet.Score >= minScore && greet.Score >= topic && d != Open {
		return Open, []Candidate{*greet}
	}
	return d, cs
}

// decideTopics applies the answer policy to the topics (not greetings).
func (r Result) decideTopics() (Decision, []Candidate) {
	var cs []Candidate
	// What matches a flow supports its steps: "legal help" matching both
	// asylum (keywords) and asylum/legal (examples) is surely about asylum.
	flowScore := map[string]float64{}
	for _, c := range r.Candidates {
		if c.Target == c.Flow() {
			flowScore[c.Target] = c.Score
		}
	}
	for _, c := range r.Candidates {
		if c.Target != c.Flow() {
			c.Score += flowSupport * flowScore[c.Flow()]
		}
		if c.Target == Greeting || c.Target == Thanks || c.Score < minScore {
			continue
		}
		// One entry per flow: the better of a flow and its steps, or a step
		// close to its flow (more precise), with the better score.
		merged := false
		for i := range cs {
			if cs[i].Flow() != c.Flow() {
				continue
			}
			merged = true
			if cs[i].Target == cs[i].Flow() && c.Target != c.Flow() && c.Score >= stepRatio*cs[i].Score {
				c.Score = max(c.Score, cs[i].Score)
				cs[i] = c
			}
			break
		}
		if !merged {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return Nothing, nil
	}
	slices.SortStableFunc(cs, func(a, b Candidate) int { return cmp.Compare(b.Score, a.Score) })
	n := 1
	for n < len(cs) && n < maxOffered && cs[n].Score >= closeRatio*cs[0].Score {
		n++
	}
	if n == 1 {
		return Open, cs[:1]
	}
	return Ask, cs[:n]
}

type pool struct{ p sync.Pool }

func newPool() *pool {
	return &pool{p: sync.Pool{New: func() any { return newStemmer() }}}
}

func (p *pool) get() *stemmer  { return p.p.Get().(*stemmer) }
func (p *pool) put(s *stemmer) { p.p.Put(s) }
