package translate

import (
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"putokaz/internal/content"
)

// Reviews reports, per language that writes safety-critical texts of its
// own, which of them have no English back-translation, an outdated one, or
// one not yet stamped.
func Reviews(c *content.Content) []content.ReviewState { return c.ReviewStatus() }

// Stamp fills every empty hash of a review file (locales/review.LANG.yaml)
// with content.Texts.ReviewHash of the current translation, and returns the
// new file and how many entries were stamped. Only the hash values change:
// comments, order and layout stay as written. Entries whose hash is already
// set are left alone (to re-stamp an outdated one, set its hash to "" after
// updating the English), as are entries naming no text of the language.
func Stamp(c *content.Content, lang string, file []byte) ([]byte, int, error) {
	if _, ok := c.Language(lang); !ok {
		return nil, 0, fmt.Errorf("stamp: unknown language %q", lang)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(file, &doc); err != nil {
		return nil, 0, fmt.Errorf("stamp: read %s: %w", content.ReviewFile(lang), err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return file, 0, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, 0, fmt.Errorf("stamp: %s is not a list of text names", content.ReviewFile(lang))
	}
	lines := strings.SplitAfter(string(file), "\n")
	n := 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		id, entry := root.Content[i].Value, root.Content[i+1]
		if entry.Kind != yaml.MappingNode {
			continue
		}
		h := c.Texts.ReviewHash(lang, id)
		if h == "" {
			continue
		}
		for j := 0; j+1 < len(entry.Content); j += 2 {
			k, v := entry.Content[j], entry.Content[j+1]
			if k.Value != "hash" || v.Kind != yaml.ScalarNode || v.Value != "" {
				continue
			}
			line, ok := stampLine(lines[k.Line-1], k.Column, h)
			if !ok {
				return nil, 0, fmt.Errorf("stamp: %s:%d: cannot find the empty hash of %q", content.ReviewFile(lang), k.Line, id)
			}
			lines[k.Line-1] = line
			n++
		}
	}
	return []byte(strings.Join(lines, "")), n, nil
}

// stampLine writes hash into the line holding `hash: ""` (or ” or
// nothing) at the 1-based column col, keeping what follows (a comment, the
// rest of a {hash: "", english: ...} group).
func stampLine(line string, col int, hash string) (string, bool) {
	r := []rune(line)
	if col < 1 || col > len(r) {
		return "", false
	}
	before, rest := string(r[:col-1]), string(r[col-1:])
	if !strings.HasPrefix(rest, "hash:") {
		return "", false
	}
	rest = strings.TrimLeft(strings.TrimPrefix(rest, "hash:"), " \t")
	switch {
	case strings.HasPrefix(rest, `""`), strings.HasPrefix(rest, `''`):
		rest = rest[2:]
	case rest == "" || rest[0] == '\n' || rest[0] == '\r' || rest[0] == '#' || rest[0] == ',' || rest[0] == '}':
		if rest != "" && rest[0] == '#' {
			rest = " " + rest
		}
	default:
		return "", false
	}
	return before + `hash: "` + hash + `"` + rest, true
}

// WriteReviews prints the back-translation state of every language: counts,
// then the names of the texts that need work.
func WriteReviews(c *content.Content, b io.Writer) {
	states := Reviews(c)
	if len(c.Safety) == 0 {
		fmt.Fprintf(b, "no safety-critical texts: locales/%s lists none\n", content.SafetyFile)
		return
	}
	fmt.Fprintf(b, "English back-translations of safety-critical texts (locales/review.<tag>.yaml):\n")
	for _, st := range states {
		current := len(st.Needed) - len(st.Missing) - len(st.Outdated) - len(st.Unstamped)
		line := fmt.Sprintf("%-8s %d/%d current", st.Lang, current, len(st.Needed))
		if !st.File {
			line += ", no " + content.ReviewFile(st.Lang)
		}
		for _, p := range []struct {
			what string
			ids  []string
		}{{"missing", st.Missing}, {"outdated", st.Outdated}, {"not stamped", st.Unstamped}} {
			if len(p.ids) > 0 {
				line += fmt.Sprintf(", %d %s", len(p.ids), p.what)
			}
		}
		fmt.Fprintln(b, line)
		for _, p := range []struct {
			what string
			ids  []string
		}{{"missing", st.Missing}, {"outdated", st.Outdated}, {"not stamped", st.Unstamped}} {
			if len(p.ids) > 0 {
				fmt.Fprintf(b, "         %s: %s\n", p.what, strings.Join(p.ids, ", "))
			}
		}
	}
}
