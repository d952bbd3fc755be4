package engine

import (
	"strings"

	"putokaz/internal/content"
)

// MatchLanguage guesses a language from a client hint (Telegram's
// language_code) using only the content's own table: exact tags and explicit
// aliases ("ar-*" matches every Arabic variant). Nothing else is guessed —
// a general matcher would confidently send Kurdish speakers to Turkish.
// It returns "" when there is no match.
func MatchLanguage(langs []content.Language, hint string) string {
	hint = strings.ReplaceAll(strings.TrimSpace(hint), "_", "-")
	if hint == "" {
		return ""
	}
	for _, l := range langs {
		if strings.EqualFold(l.Tag, hint) {
			return l.Tag
		}
	}
	for _, l := range langs {
		for _, a := range l.Aliases {
			if strings.EqualFold(a, hint) {
				return l.Tag
			}
			if prefix, ok := strings.CutSuffix(a, "*"); ok && len(hint) > len(prefix) && strings.EqualFold(hint[:len(prefix)], prefix) {
				return l.Tag
			}
		}
	}
	return ""
}

// orderLanguages puts the guessed language first, the rest in content order.
func orderLanguages(langs []content.Language, first string) []content.Language {
	out := make([]content.Language, 0, len(langs))
	for _, l := range langs {
		if l.Tag == first {
			out = append(out, l)
		}
	}
	for _, l := range langs {
		if l.Tag != first {
			out = append(out, l)
		}
	}
	return out
}
