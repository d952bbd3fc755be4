package announce

import (
	"fmt"
	"regexp"
	"strings"
)

// Telegram's HTML (parse_mode HTML) accepts a few tags; anything else, an
// unclosed tag or a bare "<" or "&" makes it refuse the whole message.
// https://core.telegram.org/bots/api#html-style
var telegramTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true, "s": true, "strike": true, "del": true,
	"span": true, "tg-spoiler": true, "a": true, "tg-emoji": true, "code": true, "pre": true, "blockquote": true,
}

var (
	tagRe    = regexp.MustCompile(`<(/?)([A-Za-z][A-Za-z0-9\-]*)\b([^<>]*)>`)
	entityRe = regexp.MustCompile(`^&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});`)
)

// htmlProblems lists, as sentence ends ("has …"), what Telegram would refuse
// in s.
func htmlProblems(s string) []string {
	var out []string
	var open []string
	last := 0
	for _, m := range tagRe.FindAllStringSubmatchIndex(s, -1) {
		out = append(out, strayProblems(s[last:m[0]])...)
		last = m[1]
		closing, name, attrs := s[m[2]:m[3]] == "/", strings.ToLower(s[m[4]:m[5]]), s[m[6]:m[7]]
		if !telegramTags[name] {
			out = append(out, fmt.Sprintf("has the tag <%s>, which Telegram does not show; use <b>, <i>, <u>, <s>, <a href=\"…\">, <code>, <pre> or <blockquote>", name))
			continue
		}
		if closing {
			if len(open) == 0 || open[len(open)-1] != name {
				out = append(out, fmt.Sprintf("closes </%s> that is not open", name))
				continue
			}
			open = open[:len(open)-1]
			continue
		}
		if name == "a" && !strings.Contains(attrs, "href=") {
			out = append(out, `has <a> without href="…"`)
		}
		open = append(open, name)
	}
	out = append(out, strayProblems(s[last:])...)
	for i := len(open) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprintf("does not close <%s>", open[i]))
	}
	return out
}

// strayProblems finds "<", ">" and "&" outside tags and entities.
func strayProblems(s string) []string {
	var out []string
	if strings.ContainsAny(s, "<>") {
		out = append(out, `has a "<" or ">" that is not part of a tag; write &lt; or &gt;`)
	}
	for i := strings.IndexByte(s, '&'); i >= 0; {
		if !entityRe.MatchString(s[i:]) {
			out = append(out, `has an "&" that is not part of &amp;, &lt;, &gt; or &quot;; write &amp;`)
			break
		}
		j := strings.IndexByte(s[i+1:], '&')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return out
}
