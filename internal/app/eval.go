package app

import (
	"context"
	"fmt"

	"putokaz/internal/engine"
	"putokaz/internal/match"
)

// evalDir holds the labelled phrasings (internal/match/testdata/eval).
const evalDir = "internal/match/testdata/eval"

// evalCmd answers every labelled phrasing of the evaluation sets as the bot
// would and prints the hit rate per language and kind, "did you mean"
// offers, and the confusions (what went where).
func evalCmd(_ context.Context, env Env, args []string) int {
	fs := newFlags("eval", env)
	dir := fs.String("sets", evalDir, "folder of evaluation sets (*.yaml)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	src := contentSource(fs.Arg(0))
	c, diags := engine.Load(src)
	if c == nil {
		for _, d := range diags.Errors() {
			fmt.Fprintln(env.Stderr, d)
		}
		return 1
	}
	files, err := match.ReadEvalFiles(*dir)
	if err != nil {
		fmt.Fprintf(env.Stderr, "putokaz eval: %v\n", err)
		return 1
	}
	if len(files) == 0 {
		fmt.Fprintf(env.Stderr, "putokaz eval: no evaluation sets (*.yaml) in %s\n", *dir)
		return 1
	}
	for _, f := range files {
		r := match.Evaluate([]match.EvalFile{f}, func(text string) match.Got { return engine.Understand(c, text).Got() })
		fmt.Fprintf(env.Stdout, "%s (%s): %d of %d hit (%.1f %%), %d offered\n", f.Name, f.Lang, r.Total.Hits, r.Total.Cases, 100*r.Total.Rate(), r.Total.Offered)
	}
	r := match.Evaluate(files, func(text string) match.Got { return engine.Understand(c, text).Got() })
	r.Write(env.Stdout)
	return 0
}
