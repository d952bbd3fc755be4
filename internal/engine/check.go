package engine

import (
	"fmt"
	"math"
	"strings"

	"putokaz/internal/content"
	"putokaz/internal/textnorm"
)

// Load loads content and fully checks it: the loader's checks plus Check
// (what Telegram would reject once rendered). With errors it returns nil
// content and every problem, sorted; this is what the bot serves.
func Load(src content.Source) (*content.Content, content.Diags) {
	c, diags := content.Load(src)
	if c != nil {
		diags = append(diags, Check(c)...)
		diags.Sort()
		if diags.HasErrors() {
			return nil, diags
		}
	}
	return c, diags
}

// maxCallbackData is Telegram's limit of a button's callback data, in bytes.
const maxCallbackData = 64

// Check renders every step in every language the way the engine would and
// reports what Telegram would reject: callback data over 64 bytes, texts over
// 4096 characters once variables are filled in, texts that fail to render.
func Check(c *content.Content) content.Diags {
	var ds content.Diags
	add := func(p content.Pos, format string, args ...any) {
		ds = append(ds, content.Diag{Pos: p, Severity: content.Error, Msg: fmt.Sprintf(format, args...)})
	}
	for _, l := range c.Languages {
		if d := "L:" + l.Tag; len(d) > maxCallbackData {
			add(l.Pos, "language tag %q is too long for a Telegram button", l.Tag)
		}
	}
	// The longest data a keyboard can carry: the largest keyboard number and index.
	if d := buttonData(math.MaxUint32, content.MaxButtons); len(d) > maxCallbackData {
		add(content.Pos{File: "(built in)", Line: 1, Col: 1}, "button data %q is longer than %d bytes", d, maxCallbackData)
	}
	vars := sampleVars(c)
	for _, name := range c.FlowOrder {
		f := c.Flows[name]
		for _, sn := range f.Order {
			st := f.Steps[sn]
			ids := append(append([]string{}, st.Say...), st.Ask)
			for _, b := range st.Buttons {
				ids = append(ids, b.Label)
			}
			for _, ch := range st.Choices {
				ids = append(ids, ch.Label)
			}
			for _, l := range c.Languages {
				for _, id := range ids {
					if id == "" || !c.Texts.Has(l.Tag, id) {
						continue
					}
					for _, count := range []any{0, 1, 2, 5, 21, 100} {
						s, err := c.Texts.Render(l.Tag, id, vars, count)
						if err != nil {
							add(st.Pos, "text %q cannot be shown in %s: %v", id, l.Tag, err)
							break
						}
						if n := textnorm.UTF16Len(s); n > content.MaxTextLen {
							add(st.Pos, "text %q in %s is %d characters when shown; Telegram allows %d — split it", id, l.Tag, n, content.MaxTextLen)
							break
						}
						if !strings.Contains(s, "{{") && st.Count == "" {
							break // no variables: one render tells all
						}
					}
				}
			}
		}
	}
	return ds
}

// sampleVars fills every variable with the longest answer a person can give.
func sampleVars(c *content.Content) map[string]string {
	long := strings.Repeat("W", content.MaxAnswerLen)
	vars := map[string]string{"code": "PK-WWWW", "service": "service", "Count": "100",
		"org": long, "data_contact": long}
	for _, f := range c.Flows {
		for _, st := range f.Steps {
			if st.Save != "" {
				vars[st.Save] = long
			}
		}
	}
	return vars
}
