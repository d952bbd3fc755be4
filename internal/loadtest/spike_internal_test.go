package loadtest

import (
	"math"
	"testing"
	"time"
)

func TestFairness(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s ...float64) []time.Time {
		var out []time.Time
		for _, v := range s {
			out = append(out, t0.Add(time.Duration(v*float64(time.Second))))
		}
		return out
	}
	wrote := at(0, 1, 2, 3)
	tau, inv := fairness(wrote, at(1, 2, 3, 4), time.Second)
	if tau != 1 || inv != 0 {
		t.Errorf("in order: tau %v, inverted %v", tau, inv)
	}
	tau, inv = fairness(wrote, at(4, 3, 2, 1), time.Second)
	if tau != -1 || math.Abs(inv-3.0/6) > 1e-9 { // pairs 3 s and 2 s apart beyond 1 s: (0,3) (0,2) (1,3)
		t.Errorf("reversed: tau %v, inverted %v", tau, inv)
	}
	// One swap by half a second: out of order, but not beyond the slack.
	tau, inv = fairness(wrote, at(1, 2.6, 2.1, 4), time.Second)
	if math.Abs(tau-4.0/6) > 1e-9 || inv != 0 {
		t.Errorf("small swap: tau %v, inverted %v", tau, inv)
	}
}

func TestIdealFirstAnswers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// Rate 10/s: one message takes 100 ms. Three people write at once,
	// two messages each; a fourth writes 2 s later, when the sender is idle.
	msgs := []*spikeMsg{
		{written: t0, msgs: 2, first: true},
		{written: t0, msgs: 2, first: true},
		{written: t0, msgs: 2, first: true},
		{written: t0.Add(2 * time.Second), msgs: 1, first: true},
		{written: t0.Add(50 * time.Millisecond), msgs: 0, first: false}, // unanswered: takes nothing
	}
	l := idealFirstAnswers(msgs, 10)
	// First answers at 100, 300, 500 ms, and 100 ms for the late one.
	if l.P50 != 100 || l.Max != 500 || l.P95 != 500 {
		t.Errorf("ideal %+v", l)
	}
}

func TestPercentiles95(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := percentiles95(d)
	if l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 {
		t.Errorf("%+v", l)
	}
	if l := percentiles95(nil); l != (Latency{}) {
		t.Errorf("empty: %+v", l)
	}
}
