package textnorm

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestFold(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"latin diacritic", "Pomoć", "pomoc"},
		{"plain latin", "pomoc", "pomoc"},
		{"cyrillic upper", "ПОМОЋ", "pomoc"},
		{"cyrillic lower", "помоћ", "pomoc"},
		{"dj latin", "Đorđe", "djordje"},
		{"dj cyrillic", "Ђорђе", "djordje"},
		{"dz digraph latin", "džep", "dzep"},
		{"dz single codepoint", "ǆep", "dzep"},
		{"dz cyrillic", "Џеп", "dzep"},
		{"lj nj cyrillic", "љубав њива", "ljubav njiva"},
		{"punctuation and spaces", "  HELP!!! ", "help"},
		{"whitespace runs", "a \t\n\u00A0 b", "a b"},
		{"emoji separates", "help😀me", "help me"},
		{"digits kept", "Call 192, now", "call 192 now"},
		{"fullwidth via NFKC", "ＨＥＬＰ１２", "help12"},
		{"teh marbuta", "مساعدة", "مساعده"},
		{"arabic kaf", "كمك", "کمک"},
		{"arabic yeh", "ي", "ی"},
		{"alef maksura", "على", "علی"},
		{"yeh with hamza", "سائل", "سایل"},
		{"alef hamza above", "أمن", "امن"},
		{"alef hamza below", "إسلام", "اسلام"},
		{"alef madda", "آب", "اب"},
		{"alef wasla", "ٱلله", "الله"},
		{"waw hamza", "مؤسسه", "موسسه"},
		{"zwnj removed", "پناه\u200Cندگی", "پناهندگی"},
		{"harakat removed", "پَناهَنْدِگی", "پناهندگی"},
		{"tatweel removed", "پنـــاهندگی", "پناهندگی"},
		{"shadda tanween superscript alef", "مُحَمَّدٌ رَحْمٰن", "محمد رحمن"},
		{"bidi controls removed", "\u202Bسلام\u202C \u2066123\u2069\u200F", "سلام 123"},
		{"arabic-indic digits", "٣٤", "34"},
		{"persian digits", "۳۴", "34"},
		{"arabic presentation forms", "ﻛﻤﻚ", "کمک"},
		{"heh with yeh above", "خانۀ", "خانه"},
		{"empty", "", ""},
		{"only separators", " ?! 😀 ", ""},
		{"invalid utf8", "\xff", ""},
		{"invalid utf8 between words", "a\xffb", "a b"},
		{"non-serbian cyrillic kept", "щи", "щi"},
		{"russian short i", "й", "i"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Fold(tc.in)
			if got != tc.want {
				t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again := Fold(got); again != got {
				t.Errorf("not idempotent: Fold(%q) = %q, Fold of that = %q", tc.in, got, again)
			}
		})
	}
}

// TestFoldEquivalence checks the groups of spellings users really type.
func TestFoldEquivalence(t *testing.T) {
	groups := [][]string{
		{"Pomoć", "pomoc", "ПОМОЋ", "помоћ", "POMOĆ", "pomoč"},
		{"مساعدة", "مساعده", "مُسَاعَدَة"},
		{"كمك", "کمک", "كمک"},
		{"پناهندگی", "پناه\u200Cندگی", "پَناهَندِگی", "پنـاهندگـی", "پناهندگي"},
		{"٣٤", "۳۴", "34"},
		{"ي", "ی", "ى"},
		{"Đorđe", "Ђорђе", "djordje", "DJORDJE"},
	}
	for _, g := range groups {
		want := Fold(g[0])
		if want == "" {
			t.Fatalf("Fold(%q) is empty", g[0])
		}
		for _, s := range g[1:] {
			if got := Fold(s); got != want {
				t.Errorf("Fold(%q) = %q, want %q (same as %q)", s, got, want, g[0])
			}
		}
	}
}

// TestHarakatAreMn backs the claim that stripping Mn removes tashkeel.
func TestHarakatAreMn(t *testing.T) {
	for r := rune(0x064B); r <= 0x065F; r++ {
		if !unicode.Is(unicode.Mn, r) {
			t.Errorf("U+%04X is not Mn", r)
		}
	}
	if !unicode.Is(unicode.Mn, 0x0670) {
		t.Error("superscript alef U+0670 is not Mn")
	}
	if unicode.Is(unicode.Mn, 0x0640) {
		t.Error("tatweel became Mn; explicit removal comment is stale")
	}
}

func TestFoldNoAllocWhenFolded(t *testing.T) {
	for _, s := range []string{"pomoc", "help me 192", "کمک پناهندگی", "djordje"} {
		if Fold(s) != s {
			t.Fatalf("Fold(%q) != itself", s)
		}
		if n := testing.AllocsPerRun(100, func() { _ = Fold(s) }); n != 0 {
			t.Errorf("Fold(%q): %v allocs, want 0", s, n)
		}
	}
}

// TestFoldAllRunes checks every code point alone and between letters and a
// combining mark (where composition surprises hide): Fold is idempotent and
// agrees with the slow reference pipeline.
func TestFoldAllRunes(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive")
	}
	// Planes 0–3 and 14 hold every assigned character; planes 4–13 are
	// empty and 15–16 private use, so sampling them keeps -race quick.
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r > 0x3FFFF && (r < 0xE0000 || r > 0xE0FFF) && r%251 != 0 {
			continue
		}
		if !utf8.ValidRune(r) {
			continue
		}
		for _, s := range []string{string(r), "a" + string(r) + "\u0301", "ᄀ\u0301" + string(r)} {
			f := Fold(s)
			if g := Fold(f); g != f {
				t.Fatalf("U+%04X: Fold(%q) = %q, Fold again = %q", r, s, f, g)
			}
			if want := refFold(s); f != want {
				t.Fatalf("U+%04X: Fold(%q) = %q, reference gives %q", r, s, f, want)
			}
		}
	}
}

func TestCyrToLat(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Љубав", "Ljubav"},
		{"ЉУБАВ", "LJUBAV"},
		{"њива", "njiva"},
		{"Њива", "Njiva"},
		{"ЊИВА", "NJIVA"},
		{"Џеп", "Džep"},
		{"ЏЕП", "DŽEP"},
		{"ЊЊ", "NJNJ"},
		{"Љ", "Lj"},
		{"ОЉ.", "OLJ."},
		{"ђак ћерка чаша жаба шума", "đak ćerka čaša žaba šuma"},
		{"ЂАК ЋЕРКА ЧАША ЖАБА ШУМА", "ĐAK ĆERKA ČAŠA ŽABA ŠUMA"},
		{"абвгдђежзијклљмнњопрстћуфхцчџш", "abvgdđežzijklljmnnjoprstćufhcčdžš"},
		{"АБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШ", "ABVGDĐEŽZIJKLLJMNNJOPRSTĆUFHCČDŽŠ"},
		{"Позовите {{.town}} <b>192</b> https://x.rs", "Pozovite {{.town}} <b>192</b> https://x.rs"},
		{`<a href="https://mup.gov.rs/?q=1">МУП</a> {{if .x}}да{{end}}`, `<a href="https://mup.gov.rs/?q=1">MUP</a> {{if .x}}da{{end}}`},
		{"سلام 😀 ٣٤ 192", "سلام 😀 ٣٤ 192"},
		{"щука йод", "щuka йod"}, // non-Serbian Cyrillic passes through
		{"с\u030C", "š"},         // decomposed input still yields NFC output
		{"", ""},
	}
	for _, tc := range tests {
		got := CyrToLat(tc.in)
		if got != tc.want {
			t.Errorf("CyrToLat(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !norm.NFC.IsNormalString(got) {
			t.Errorf("CyrToLat(%q) = %q is not NFC", tc.in, got)
		}
	}
}

func TestLatToCyr(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Krnjača", "Крњача"},
		{"Palilula, Beograd", "Палилула, Београд"},
		{"Nemanjina 128d, Obrenovac", "Немањина 128д, Обреновац"},
		{"Radnička bb, Vranje", "Радничка бб, Врање"},
		{"Ljubljana LJUBAV Džep DŽEP Njegoš", "Љубљана ЉУБАВ Џеп ЏЕП Његош"},
		{"Đurđevdan, Šid, Ćuprija, Žabalj, Čačak", "Ђурђевдан, Шид, Ћуприја, Жабаљ, Чачак"},
		{"Vase Smajevića 2, Preševo", "Васе Смајевића 2, Прешево"},
		{"Bulevar Zorana Đinđića 64", "Булевар Зорана Ђинђића 64"},
		{"www.example.org info@x.rs https://a.rs/b", "www.example.org info@x.rs https://a.rs/b"},
		{"Kneza Miloša 4 {{.town}} <b>Wien</b>", "Кнеза Милоша 4 {{.town}} <b>Wien</b>"},
		{"Banja Koviljača", "Бања Ковиљача"},
		{"Лепо већ", "Лепо већ"}, // Cyrillic stays Cyrillic
		{"", ""},
	}
	for _, tc := range tests {
		if got := LatToCyr(tc.in); got != tc.want {
			t.Errorf("LatToCyr(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLatToCyrRoundTrip: Serbian Latin → Cyrillic → Latin gives the text back.
func TestLatToCyrRoundTrip(t *testing.T) {
	for _, s := range []string{"Krnjača, Obrenovac, Vranje, Sjenica, Preševo, Bujanovac, Principovac, Šid",
		"Džervin Ljig Njeguš Đakovica Ćićevac Žitište", "Radnička bb 128d"} {
		if got := CyrToLat(LatToCyr(s)); got != s {
			t.Errorf("CyrToLat(LatToCyr(%q)) = %q", s, got)
		}
	}
}

// TestCyrToLatFoldAgree ties the two tables together: folding Cyrillic must
// give the same key as folding its transliteration.
func TestCyrToLatFoldAgree(t *testing.T) {
	for _, s := range []string{
		"абвгдђежзијклљмнњопрстћуфхцчџш",
		"АБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШ",
		"Љубав и Џеп у Ђурђевдан",
	} {
		if a, b := Fold(s), Fold(CyrToLat(s)); a != b {
			t.Errorf("Fold(%q) = %q but Fold(CyrToLat) = %q", s, a, b)
		}
	}
}

func TestDirection(t *testing.T) {
	tests := []struct {
		in           string
		rtl, found   bool
		arabicLetter bool
	}{
		{"سلام", true, true, true},
		{"192 پلیس", true, true, true},
		{"Hello سلام", false, true, false},
		{"\u2066+381 11\u2069 تماس", true, true, true},
		{"\u2067abc\u2069 def", false, true, false},
		{"\u2066a\u2067b\u2069c\u2069 سلام", true, true, true}, // nested isolate
		{"\u2068abc", false, false, false},                     // unmatched: rest is isolated
		{"{{.code}} کد", true, true, true},
		{"{{ .Name }} hello", false, true, false},
		{"{{.x", false, false, false},
		{"", false, false, false},
		{"😀 سلام", true, true, true},
		{"٣٤ سلام", true, true, true}, // Arabic-Indic digits are weak (AN)
		{"שלום", true, true, false},   // RTL but Hebrew
		{"123 !?", false, false, false},
		{"\u200Fabc", true, true, false}, // RLM is a strong R character
		{"ПОМОЋ", false, true, false},
	}
	for _, tc := range tests {
		rtl, found := FirstStrongIsRTL(tc.in)
		if rtl != tc.rtl || found != tc.found {
			t.Errorf("FirstStrongIsRTL(%q) = (%v, %v), want (%v, %v)", tc.in, rtl, found, tc.rtl, tc.found)
		}
		if got := StartsWithArabicLetter(tc.in); got != tc.arabicLetter {
			t.Errorf("StartsWithArabicLetter(%q) = %v, want %v", tc.in, got, tc.arabicLetter)
		}
	}
}

func TestIsolate(t *testing.T) {
	got := Isolate("+381 11 123")
	if want := "\u2066+381 11 123\u2069"; got != want {
		t.Errorf("Isolate = %q, want %q", got, want)
	}
	// An isolated LTR number must not decide the paragraph direction.
	if rtl, _ := FirstStrongIsRTL(Isolate("call 192") + " با پلیس تماس بگیرید"); !rtl {
		t.Error("isolated LTR text decided paragraph direction")
	}
}

func TestUTF16Len(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"a", 1},
		{"😀", 2},
		{"ћ", 1},
		{"سلام", 4},
		{"a😀b", 4},
		{"👍🏽", 4},
		{"\xff", 1},
		{"a\xff\xfeb", 4},
		{Isolate("1"), 3},
	}
	for _, tc := range tests {
		if got := UTF16Len(tc.in); got != tc.want {
			t.Errorf("UTF16Len(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

var benchInputs = []struct{ name, s string }{
	{"ascii", "  Hi, I need HELP finding a doctor in Belgrade!!! "},
	{"ascii_folded", "hi i need help finding a doctor in belgrade"},
	{"latin", "Treba mi pomoć, gde je najbliža ambulanta? Đorđe"},
	{"cyrillic", "Треба ми помоћ, где је најближа амбуланта? Ђорђе"},
	{"farsi", "سلام، من به کمک نیاز دارم. پناه‌جو هستم ۱۲۳"},
	{"arabic", "مرحباً، أحتاج إلى مساعدة طبية ٣٤"},
}

func BenchmarkFold(b *testing.B) {
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.s)))
			for b.Loop() {
				_ = Fold(in.s)
			}
		})
	}
}

func BenchmarkCyrToLat(b *testing.B) {
	s := strings.Repeat("Позовите {{.town}} <b>192</b> Љубав Џеп. ", 4)
	b.ReportAllocs()
	for b.Loop() {
		_ = CyrToLat(s)
	}
}
