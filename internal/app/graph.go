package app

import (
	"context"
	"errors"
	"fmt"

	"putokaz/internal/content"
	"putokaz/internal/graph"
)

// graphCmd prints the flows as a Mermaid diagram (paste it into any Mermaid
// viewer, or a Markdown file between ```mermaid fences).
func graphCmd(_ context.Context, env Env, args []string) int {
	fs := newFlags("graph", env)
	lang := fs.String("lang", content.DefaultLanguage, "language of the labels")
	dir := fs.String("dir", "", "folder holding flows/ and locales/ (default: ./ in a checkout, else the built-in content)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(env.Stderr, "putokaz graph: at most one flow name; usage: putokaz graph [--lang TAG] [--dir DIR] [FLOW]")
		return 2
	}
	// Lenient: a diagram is useful while translations are still missing;
	// anything that breaks the flows themselves still stops it.
	c, diags := content.LoadLenient(contentSource(*dir))
	if c == nil {
		for _, d := range diags.Errors() {
			fmt.Fprintln(env.Stderr, d)
		}
		fmt.Fprintln(env.Stderr, "putokaz graph: the content has errors; run `putokaz check` for details")
		return 1
	}
	if _, ok := c.Language(*lang); !ok {
		fmt.Fprintf(env.Stderr, "putokaz graph: unknown language %q (languages: %s)\n", *lang, languageTags(c))
		return 2
	}
	out, err := graph.Mermaid(c, fs.Arg(0), *lang, content.Ref{})
	if errors.Is(err, graph.ErrUnknownFlow) {
		fmt.Fprintf(env.Stderr, "putokaz graph: there is no flow %q. Flows:\n", fs.Arg(0))
		for _, name := range c.FlowOrder {
			fmt.Fprintln(env.Stderr, "  "+name)
		}
		return 2
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz graph:", err)
		return 1
	}
	fmt.Fprint(env.Stdout, out)
	return 0
}

func languageTags(c *content.Content) string {
	s := ""
	for i, l := range c.Languages {
		if i > 0 {
			s += ", "
		}
		s += l.Tag
	}
	return s
}
