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
// clear unless the next targets (of other flows) are close (see close):
// then up to maxOffered of them are offered. closeRatio was 0.8; at 0.85
// with the words test, the development sets have fewer offers where the
// winner was right and two-topic messages ("lawyer work") are still asked.
const (
	minScore   = 0.7
	closeRatio = 0.85
	// tieRatio: a runner-up this close is offered even when the winner
	// explains all its words.
	tieRatio   = 0.95
	maxOffered = 3
	// flowSupport is the share of a flow's score added to its steps.
	flowSupport = 0.3
	// greetRatio: a topic scoring this share of a greeting wins over it.
	greetRatio = 0.7
	// stepRatio: when a flow wins but one of its own steps scores at least
	// this share of it, the step is the more precise answer. Both are
	// compared on what they scored themselves: the share of the flow's
	// score lent to its steps is no evidence for one of them ("lju2", the
	// word for asylum, is asylum, not the lawyer step that mentions it).
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
	cs := r.merged()
	if len(cs) == 0 {
		return Nothing, nil
	}
	n := 1
	for n < len(cs) && n < maxOffered && close(cs[0], cs[n]) {
		n++
	}
	if n == 1 {
		return Open, cs[:1]
	}
	return Ask, cs[:n]
}

// Beside finds, when the winner opens alone, a runner-up of another flow
// that keep accepts, that stands for words the winner does not explain and
// that scores at least the share closeRatio used to need (0.8): the engine
// offers a disclosure topic beside the winner
// rather than hide it behind a stricter policy ("a man harassed me in the
// camp" may score the camp higher).
func (r Result) Beside(keep func(Candidate) bool) (Candidate, bool) {
	cs := r.merged()
	for _, c := range cs[min(1, len(cs)):] {
		if c.Score >= besideRatio*cs[0].Score && c.words&^cs[0].words != 0 && keep(c) {
			return c, true
		}
	}
	return Candidate{}, false
}

// besideRatio: see Beside.
const besideRatio = 0.8

// merged is the topics of the result (not greetings) above minScore, one
// per flow, best first.
func (r Result) merged() []Candidate {
	var cs []Candidate
	// What matches a flow supports its steps: "legal help" matching both
	// asylum (keywords) and asylum/legal (examples) is surely about asylum.
	flowScore := map[string]float64{}
	flowWords := map[string]uint64{}
	for _, c := range r.Candidates {
		if c.Target == c.Flow() {
			flowScore[c.Target] = c.Score
			flowWords[c.Target] = c.words
		}
	}
	for _, c := range r.Candidates {
		c.own = c.Score
		if c.Target != c.Flow() {
			c.Score += flowSupport * flowScore[c.Flow()]
			c.words |= flowWords[c.Flow()]
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
			if cs[i].Target == cs[i].Flow() && c.Target != c.Flow() && c.own >= stepRatio*cs[i].own {
				c.Score, c.own = max(c.Score, cs[i].Score), max(c.own, cs[i].own)
				c.words |= cs[i].words
				cs[i] = c
			}
			break
		}
		if !merged {
			cs = append(cs, c)
		}
	}
	slices.SortStableFunc(cs, func(a, b Candidate) int { return cmp.Compare(b.Score, a.Score) })
	return cs
}

// close reports whether the runner-up c is worth offering beside the
// winner w: it scores nearly as much (compared on what each target scored
// on its own: a step's support from its flow ranks it but says nothing
// about whether the message asks for another topic as much), and either
// it stands for words of the message that the winner does not ("lawyer
// work": two topics asked for) or the two are all but tied. A runner-up
// whose words the winner explains too is the same request read less well
// ("I want protection, I can't go back" is asylum, though "go back" is
// also what returning home says).
func close(w, c Candidate) bool {
	ws, cs := min(w.Score, w.own), min(c.Score, c.own)
	if cs < closeRatio*ws {
		return false
	}
	return c.words&^w.words != 0 || cs >= tieRatio*ws
}

type pool struct{ p sync.Pool }

func newPool() *pool {
	return &pool{p: sync.Pool{New: func() any { return newStemmer() }}}
}

func (p *pool) get() *stemmer  { return p.p.Get().(*stemmer) }
func (p *pool) put(s *stemmer) { p.p.Put(s) }
