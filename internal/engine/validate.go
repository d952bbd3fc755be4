package engine

import (
	"strings"
	"unicode/utf8"

	"putokaz/internal/content"
	"putokaz/internal/textnorm"
)

// validate checks an answer and returns the value to save. label renders a
// message ID in the person's language (for matching typed choices).
func validate(st *content.Step, raw string, label func(string) string) (string, bool) {
	raw = strings.TrimSpace(raw)
	switch st.Expect {
	case content.ExpectNumber:
		f := textnorm.Fold(raw) // also turns Arabic-Indic and Persian digits into 0-9
		if f == "" || len(f) > 12 || strings.Trim(f, "0123456789") != "" {
			return "", false
		}
		return f, true
	case content.ExpectPhone:
		return phone(raw)
	case content.ExpectChoice:
		f := textnorm.Fold(raw)
		for _, ch := range st.Choices {
			if f == textnorm.Fold(ch.Value) || f == textnorm.Fold(label(ch.Label)) {
				return ch.Value, true
			}
		}
		return "", false
	default:
		if raw == "" || utf8.RuneCountInString(raw) > content.MaxAnswerLen {
			return "", false
		}
		return raw, true
	}
}

// phone accepts what people type for a phone number (spaces, dashes,
// brackets, a leading + or 00, any digit script) and returns +digits or
// digits; 6 to 15 digits as in E.164.
func phone(raw string) (string, bool) {
	var b strings.Builder
	plus := false
	for i, r := range raw {
		switch {
		case r == '+' && i == 0:
			plus = true
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '٠' && r <= '٩':
			b.WriteRune('0' + (r - '٠'))
		case r >= '۰' && r <= '۹':
			b.WriteRune('0' + (r - '۰'))
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '/' || r == '\u2066' || r == '\u2069':
		default:
			return "", false
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "00") && !plus {
		d, plus = d[2:], true
	}
	if len(d) < 6 || len(d) > 15 {
		return "", false
	}
	if plus {
		return "+" + d, true
	}
	return d, true
}
