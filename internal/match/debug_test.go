package match_test

import (
	"fmt"
	"os"
	"testing"

	"putokaz/internal/content"
)

// TestExplain prints the candidates for MATCH_TEXT (a tuning aid; skipped
// without it).
func TestExplain(t *testing.T) {
	text := os.Getenv("MATCH_TEXT")
	if text == "" {
		t.Skip("set MATCH_TEXT")
	}
	c, diags := content.Load(content.Embedded())
	if c == nil {
		t.Fatal(diags)
	}
	r := c.Matcher.Match(text)
	for _, cd := range r.Candidates {
		fmt.Printf("%-28s %6.2f %s\n", cd.Target, cd.Score, cd.Lang)
	}
	d, cs := r.Decide()
	fmt.Println(d, cs, r.Lang, r.LangKnown)
}
