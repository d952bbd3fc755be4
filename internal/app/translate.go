package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"putokaz/internal/content"
	"putokaz/internal/translate"
)

// translateCmd is the translators' workflow:
//
//	putokaz translate                  coverage of every language
//	putokaz translate export LANG      write translate.LANG.yaml with what LANG lacks
//	putokaz translate import FILE      merge a translated file into locales/active.LANG.yaml
//	putokaz translate review           which safety-critical texts lack a current back-translation
//	putokaz translate review --stamp LANG   fill the empty hashes of locales/review.LANG.yaml
func translateCmd(_ context.Context, env Env, args []string) int {
	fs := newFlags("translate", env)
	dir := fs.String("dir", "", "content folder holding flows/ and locales/ (default: the current folder's)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	src := contentSource(*dir)
	// Coverage is wanted exactly when content is incomplete, so load
	// without the missing-text errors stopping us.
	c, diags := content.LoadLenient(src)
	if c == nil {
		for _, d := range diags.Errors() {
			fmt.Fprintln(env.Stderr, d)
		}
		return 1
	}
	switch verb := fs.Arg(0); verb {
	case "", "status":
		for _, cv := range translate.Status(c) {
			line := fmt.Sprintf("%-8s %3d%%  %d/%d texts", cv.Lang, cv.Percent(), cv.Total-len(cv.Missing)-len(cv.Outdated), cv.Total)
			if cv.Generated > 0 {
				line += fmt.Sprintf(" (%d transliterated)", cv.Generated)
			}
			if len(cv.Missing) > 0 {
				line += fmt.Sprintf(", %d missing", len(cv.Missing))
			}
			if len(cv.Outdated) > 0 {
				line += fmt.Sprintf(", %d outdated", len(cv.Outdated))
			}
			fmt.Fprintln(env.Stdout, line)
		}
		fmt.Fprintln(env.Stdout)
		translate.WriteReviews(c, env.Stdout)
		return 0
	case "review":
		return reviewCmd(env, c, src, fs.Args()[1:])
	case "export":
		lang := fs.Arg(1)
		data, n, err := translate.Export(c, lang)
		if err != nil {
			fmt.Fprintln(env.Stderr, "putokaz translate:", err)
			return 2
		}
		out := "translate." + lang + ".yaml"
		if err := os.WriteFile(out, data, 0o644); err != nil {
			fmt.Fprintln(env.Stderr, "putokaz translate:", err)
			return 1
		}
		fmt.Fprintf(env.Stdout, "%s: %d texts to translate into %s\n", out, n, lang)
		return 0
	case "import":
		file := fs.Arg(1)
		lang := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "translate."), ".yaml")
		if _, ok := c.Language(lang); !ok || file == "" {
			fmt.Fprintln(env.Stderr, "putokaz translate import: give a file named translate.<lang>.yaml")
			return 2
		}
		tr, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(env.Stderr, "putokaz translate:", err)
			return 1
		}
		activePath := filepath.Join(src.LocalesDir, "active."+lang+".yaml")
		active, err := os.ReadFile(activePath)
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintln(env.Stderr, "putokaz translate:", err)
			return 1
		}
		merged, n, err := translate.Import(active, tr)
		if err != nil {
			fmt.Fprintln(env.Stderr, "putokaz translate:", err)
			return 1
		}
		if err := os.WriteFile(activePath, merged, 0o644); err != nil {
			fmt.Fprintln(env.Stderr, "putokaz translate:", err)
			return 1
		}
		fmt.Fprintf(env.Stdout, "%s: %d texts merged; now run putokaz check\n", activePath, n)
		return 0
	default:
		fmt.Fprintf(env.Stderr, "putokaz translate: unknown %q (status, export LANG, import FILE, review [--stamp LANG])\n", verb)
		return 2
	}
}

// reviewCmd shows the back-translations' state, or stamps a language's
// review file: every empty hash gets the hash of the current translation.
func reviewCmd(env Env, c *content.Content, src content.Source, args []string) int {
	fs := newFlags("translate review", env)
	stamp := fs.String("stamp", "", "fill the empty hashes of locales/review.`LANG`.yaml with the current translations' hashes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stamp == "" {
		translate.WriteReviews(c, env.Stdout)
		return 0
	}
	lang := *stamp
	if _, ok := c.Language(lang); !ok {
		fmt.Fprintf(env.Stderr, "putokaz translate review: unknown language %q\n", lang)
		return 2
	}
	file := filepath.Join(src.LocalesDir, content.ReviewFile(lang))
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz translate review:", err)
		return 1
	}
	out, n, err := translate.Stamp(c, lang, data)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz translate review:", err)
		return 1
	}
	if n > 0 {
		if err := os.WriteFile(file, out, 0o644); err != nil {
			fmt.Fprintln(env.Stderr, "putokaz translate review:", err)
			return 1
		}
	}
	fmt.Fprintf(env.Stdout, "%s: %d back-translations stamped with the hash of the current %s text\n", file, n, lang)
	return 0
}
