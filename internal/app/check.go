package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"putokaz/internal/content"
	"putokaz/internal/engine"
	"putokaz/internal/translate"
)

// check validates a content tree and prints every problem as file:line:col.
func check(_ context.Context, env Env, args []string) int {
	fs := newFlags("check", env)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// putokaz check FILE.yaml checks one update file against the content.
	dir, file := fs.Arg(0), ""
	if strings.HasSuffix(dir, ".yaml") {
		dir, file = "", dir
	}
	src := contentSource(dir)
	c, diags := engine.Load(src)
	errs, warns := 0, 0
	for _, d := range diags {
		if file != "" && d.Severity != content.Error {
			continue // checking one update file: the content's warnings are not its business
		}
		fmt.Fprintln(env.Stdout, d)
		if d.Severity == content.Error {
			errs++
		} else {
			warns++
		}
	}
	if c == nil {
		fmt.Fprintf(env.Stdout, "%d errors, %d warnings in %s and %s: fix the errors; the bot keeps the last good content until then.\n",
			errs, warns, src.FlowsDir, src.LocalesDir)
		return 1
	}
	updates := updateFiles(filepath.Join(filepath.FromSlash(src.FlowsDir), "updates"))
	if file != "" {
		updates = []string{file}
	}
	if ue, uw := checkUpdates(env.Stdout, c, updates); ue > 0 || file != "" {
		fmt.Fprintf(env.Stdout, "%d errors, %d warnings in %d update file(s)\n", ue, uw, len(updates))
		if ue > 0 {
			return 1
		}
		if file != "" {
			return 0
		}
	} else {
		warns += uw
	}
	steps := 0
	for _, f := range c.Flows {
		steps += len(f.Steps)
	}
	fmt.Fprintf(env.Stdout, "content OK: %d flows, %d steps, %d languages, %d warnings (%s, %s)\n",
		len(c.Flows), steps, len(c.Languages), warns, src.FlowsDir, src.LocalesDir)
	fmt.Fprintln(env.Stdout, coverageLine(c))
	return 0
}

// coverageLine summarises each language's texts: present and current, of
// all (transliterated ones count; "putokaz translate" has the details).
func coverageLine(c *content.Content) string {
	parts := []string{}
	for _, cv := range translate.Status(c) {
		p := fmt.Sprintf("%s %d%%", cv.Lang, cv.Percent())
		if n := len(cv.Outdated); n > 0 {
			p += fmt.Sprintf(" (%d outdated)", n)
		}
		parts = append(parts, p)
	}
	return "texts: " + strings.Join(parts, ", ")
}
