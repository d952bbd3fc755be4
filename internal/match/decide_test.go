package match

import "testing"

func TestDecideRunnerUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second Candidate
		want   Decision
	}{
		{"same words, read less well", Candidate{Target: "b", Score: 1.8, words: 0b01}, Open},
		{"another word, another topic", Candidate{Target: "b", Score: 1.8, words: 0b100}, Ask},
		{"all but tied", Candidate{Target: "b", Score: 1.95, words: 0b01}, Ask},
		{"far behind", Candidate{Target: "b", Score: 1.5, words: 0b100}, Open},
	} {
		r := Result{Candidates: []Candidate{{Target: "a", Score: 2, words: 0b11}, tc.second}}
		if d, _ := r.Decide(); d != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, d, tc.want)
		}
	}
}
