package match

import (
	"testing"

	"putokaz/internal/textnorm"
)

func TestStems(t *testing.T) {
	st := newStemmer()
	for _, tc := range []struct {
		f       Family
		a, b    string // two ways of writing one word
		differs bool
	}{
		{English, "returning", "return", false},
		{English, "doctors", "doctor", false},
		{Serbian, "смештаја", "smestaj", false},
		{Serbian, "doktora", "доктор", false},
		{Serbian, "vratim", "vratiti", false},
		{Arabic, "المحامي", "محامي", false},
		{Arabic, "بيضربني", "يضربني", false},
		{Arabic, "طبيبة", "طبيبه", false},
		{Persian, "می‌خوابم", "میخوابم", false},
		{Persian, "میخواد", "می‌خواهد", false},
		{Persian, "پناهندگی", "پناهنده", false},
		{Persian, "كتابها", "کتاب", false}, // Arabic kaf, plural
		{Persian, "میزنه", "میزند", false},
		{Serbian, "dijete", "dete", false},      // ijekavian
		{Serbian, "gdje", "где", false},         // ijekavian, Cyrillic
		{Serbian, "smjestaj", "smeštaj", false}, // ijekavian, no diacritics
		{Serbian, "mlijeko", "млеко", false},
		{Serbian, "ljekar", "lekar", false}, // Bosnian
		{Serbian, "registrujem", "registrovati", false},
		{Serbian, "spavao", "spavam", false},
		{Serbian, "noći", "noc", false},
		{Serbian, "najbliži", "bliži", false},
		{Serbian, "pasosh", "pasoš", false},          // sh typed for š
		{Serbian, "nađem", "nadem", false},           // đ typed as d
		{Serbian, "nadjem", "nađem", false},          // đ typed as dj
		{Serbian, "odjeću", "odeća", false},          // ijekavian d+je
		{Serbian, "deportirali", "deportuju", false}, // Croatian -irati
		{Serbian, "deportovali", "deportovati", false},
		{Serbian, "odvjetnika", "advokat", false}, // Croatian, another case
		{Serbian, "liječnik", "lekar", false},
		{Serbian, "obitelji", "porodica", false},
		{Serbian, "god", "godina", false}, // "16 god": years
		{Serbian, "bok", "zdravo", false},
		{Persian, "برادرمو", "برادر", false}, // spoken -am ro
		{Arabic, "الشغل", "شغل", false},
		{Arabic, "اهلا", "اهلي", true}, // hello, my family
		{English, "shelter", "asylum", true},
	} {
		a := st.stem(tc.f, textnorm.Fold(tc.a))
		b := st.stem(tc.f, textnorm.Fold(tc.b))
		if (a == b) == tc.differs || a == "" {
			t.Errorf("%s: %q → %q, %q → %q", tc.f, tc.a, a, tc.b, b)
		}
	}
	// Short forms typed on phones say nothing: nmg (ne mogu), il (ili),
	// mlm (molim); "a lot" in English, Finglish kheyli (very).
	for _, tc := range []struct {
		f   Family
		tok string
	}{{Serbian, "nmg"}, {Serbian, "il"}, {Serbian, "mlm"}, {English, "alot"}, {Persian, "kheyli"}, {Arabic, "alot"}} {
		if got := st.stem(tc.f, tc.tok); got != "" {
			t.Errorf("%s: %q → %q, want a stop word", tc.f, tc.tok, got)
		}
	}
	if st.stem(English, "the") != "" || st.stem(Persian, "shelter") != "shelter" || st.stem(English, "کمک") != "" {
		t.Error("stop words, Finglish as typed, or script mismatch")
	}
	// Stop words of the other language of the script: "se", "za" are no
	// English, "برای" no Arabic; هاي (hi) is Arabic, though it folds to a
	// Persian stop word.
	if st.stem(English, "za") != "" || st.stem(Arabic, textnorm.Fold("برای")) != "" || st.stem(Arabic, textnorm.Fold("وما")) != "" ||
		st.stem(Arabic, textnorm.Fold("هاي")) == "" {
		t.Error("stop words across a script")
	}
	for _, tc := range []struct {
		f        Family
		tok, alt string
	}{
		{Serbian, "vratit", "vratiti"},
		{Arabic, "لمحامي", "محامي"},
		{Arabic, "للمحامي", "محامي"},
		{Persian, "بخوابم", "میخوابم"},
	} {
		got, want := st.alternative(tc.f, textnorm.Fold(tc.tok)), st.stem(tc.f, textnorm.Fold(tc.alt))
		if got != want {
			t.Errorf("alternative(%s, %q) = %q, want %q", tc.f, tc.tok, got, want)
		}
	}
}

func TestSkeleton(t *testing.T) {
	for _, group := range [][]string{
		{"komak", "کمک", "komakk"},
		{"khoone", "خونه"},
		{"bargardam", "برگردم"},
		{"2rja3", "ارجع", "ارجاع"},
		{"mo7ami", "محامی"},
		{"shoghl", "شغل"},
	} {
		want := string(skeleton(textnorm.Fold(group[0]), nil))
		for _, w := range group[1:] {
			if got := string(skeleton(textnorm.Fold(w), nil)); got != want {
				t.Errorf("skeleton(%q) = %q, skeleton(%q) = %q", group[0], want, w, got)
			}
		}
	}
	if sk := skeleton("aya", nil); len(sk) != 0 {
		t.Errorf("a skeleton under two letters: %q", sk)
	}
}

func TestWords(t *testing.T) {
	got := Words("Please, my VISA visa 12345 a2b lottery!")
	want := []string{"visa", "lottery"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Words = %v, want %v (no stop words, numbers, words with digits, repeats)", got, want)
	}
}

func TestGeneric(t *testing.T) {
	for _, w := range []string{"help", "pomoć", "помоћ", "کمک", "مساعدة", "doctor", "beats me", "hurt", "ljekar", "лијечник"} {
		if !IsGeneric(textnorm.Fold(w)) {
			t.Errorf("%q is not generic", w)
		}
	}
	for _, w := range []string{"police", "полиција", "پلیس", "attacked", "hurting me"} {
		if IsGeneric(textnorm.Fold(w)) {
			t.Errorf("%q is generic: it names a danger", w)
		}
	}
}

func TestWhatToDo(t *testing.T) {
	for text, want := range map[string]bool{
		"odbili su mi azil šta sad da radim": true,
		"шта да радим":                       true,
		"sta mi je raditi":                   true,
		"sta da uradim":                      true,
		"hocu da radim u srbiji":             false,
		"mogu li da radim legalno":           false,
		"sta treba da radim za dozvolu":      true,
		"radim svaki dan":                    false,
		"mish 3arf shu a3mel":                true,
		"شو اعمل رفضوا اللجوء":               true,
		"بدي عمل":                            false,
	} {
		var buf [maxTokens]string
		toks := tokens(text, buf[:0])
		got := false
		for i := range toks {
			got = got || whatToDo(toks, i)
		}
		if got != want {
			t.Errorf("%q: whatToDo %v, want %v", text, got, want)
		}
	}
}

func TestViolenceNow(t *testing.T) {
	for text, want := range map[string]bool{
		"neko me udara sad, upomoc":        true,
		"он ме туче сада":                  true,
		"he is beating me now":             true,
		"my husband beats me and i am sad": false,
		"muz me tuce":                      false,
		"زوجي عم يضربني هلق":               true,
		"now i need a doctor":              false,
	} {
		if got := ViolenceNow(textnorm.Fold(text)); got != want {
			t.Errorf("%q: ViolenceNow %v, want %v", text, got, want)
		}
	}
}

func TestNegated(t *testing.T) {
	for _, tc := range []struct {
		text, kw string
		want     bool
	}{
		{"treba mi ljekar hitno ali nije opasno", "opasno", true},
		{"nije opasno ali je opasno", "opasno", false},
		{"opasno je", "opasno", false},
		{"it is not dangerous", "dangerous", true},
		{"fire", "fire", false},
		{"help", "fire", false},
	} {
		if got := Negated(textnorm.Fold(tc.text), tc.kw); got != tc.want {
			t.Errorf("%q, %q: Negated %v, want %v", tc.text, tc.kw, got, tc.want)
		}
	}
}

func TestMinorAges(t *testing.T) {
	for text, want := range map[string]bool{
		"im 15 no family here":          true,
		"imam 14 godina sam sam":        true,
		"ana 3umri 14 wa wa7di":         true,
		"عمري ١٦ وحدي":                  true,
		"۱۴ سالمه هیچکس با من نیست":     true,
		"16 salam pedar madaram nistan": true,
		"leave serbia in 15 days":       false,
		"i am 25 years old":             false,
		"my baby is 1 year old":         false,
		"room 12":                       false,
	} {
		var buf [maxTokens]string
		ages, _ := minorAges(tokens(text, buf[:0]))
		if (ages != 0) != want {
			t.Errorf("%q: a child's age %v, want %v", text, ages != 0, want)
		}
	}
}
