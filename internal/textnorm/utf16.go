package textnorm

import "unicode/utf8"

// UTF16Len returns the length of s in UTF-16 code units, the unit Telegram
// uses for message length limits and entity offsets. Runes above U+FFFF
// take two units; each invalid byte counts as one U+FFFD, which is what
// encoding/json sends in its place.
func UTF16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}
