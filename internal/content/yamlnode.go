package content

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"putokaz/internal/match"
)

// Content files are small hand-written texts; anything larger is a mistake
// (a wrong file dropped into the folder) and must not eat memory.
const maxFileSize = 1 << 20

// Deep nesting is never needed by content and is a cheap way to exhaust the
// stack of a naive walker.
const maxDepth = 24

// fileReader decodes one YAML file into nodes, reporting problems with the
// file's display name.
type fileReader struct {
	name  string // what editors see, e.g. "flows/main.yaml"
	diags *Diags
}

func (r *fileReader) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: r.name, Line: 1, Col: 1}
	}
	return Pos{File: r.name, Line: n.Line, Col: n.Column}
}

func (r *fileReader) errorf(n *yaml.Node, format string, args ...any) {
	r.diags.errorf(r.pos(n), format, args...)
}

var yamlLineRe = regexp.MustCompile(`line (\d+)(?:, column (\d+))?: (.*)`)

// readYAML reads and parses a file, returning its document root (a mapping
// or sequence node) or nil after reporting why it cannot be read.
func (r *fileReader) readYAML(fsys fs.FS, path string) ([]byte, *yaml.Node) {
	data, err := readLimited(fsys, path)
	if err != nil {
		r.diags.errorf(r.pos(nil), "%v", err)
		return nil, nil
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		r.diags.errorf(r.pos(nil), "this file is not plain text (UTF-8); save it as UTF-8 text")
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		r.yamlError(err)
		return nil, nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		r.diags.errorf(r.pos(nil), "this file is empty")
		return nil, nil
	}
	root := doc.Content[0]
	if !r.checkDepth(root, 0) {
		return nil, nil
	}
	return data, root
}

// yamlError turns a yaml.v3 syntax error into a positioned sentence.
func (r *fileReader) yamlError(err error) {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	p := r.pos(nil)
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			p.Col, _ = strconv.Atoi(m[2])
		}
		msg = m[3]
	}
	r.diags.errorf(p, "the YAML cannot be read (%s); check indentation, colons and quotes around this line", msg)
}

func (r *fileReader) checkDepth(n *yaml.Node, depth int) bool {
	if depth > maxDepth {
		r.errorf(n, "this is nested more than %d levels deep; content never needs that", maxDepth)
		return false
	}
	if n.Kind == yaml.AliasNode {
		r.errorf(n, "YAML aliases (*name) are not allowed in content; write the value out")
		return false
	}
	for _, c := range n.Content {
		if !r.checkDepth(c, depth+1) {
			return false
		}
	}
	return true
}

func readLimited(fsys fs.FS, path string) ([]byte, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open this file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxFileSize {
		return nil, fmt.Errorf("this file is %d KB; content files must be under %d KB — is it the right file?", st.Size()>>10, maxFileSize>>10)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read this file: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("this file is larger than %d KB; content files must be smaller — is it the right file?", maxFileSize>>10)
	}
	return data, nil
}

// fields reads a mapping whose keys must come from allowed, reporting unknown
// keys with a suggestion and duplicated ones. It returns key → value node and
// the key nodes (for positions).
func (r *fileReader) fields(n *yaml.Node, what string, allowed ...string) (map[string]*yaml.Node, map[string]*yaml.Node) {
	if n.Kind != yaml.MappingNode {
		r.errorf(n, "%s should be a list of \"name: value\" lines, not %s", what, describe(n))
		return nil, nil
	}
	vals := make(map[string]*yaml.Node, len(n.Content)/2)
	keys := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		if _, dup := vals[name]; dup {
			r.errorf(k, "%q is written twice in %s; keep one", name, what)
			continue
		}
		if allowed != nil && !contains(allowed, name) {
			hint := ""
			if s := closest(name, allowed); s != "" {
				hint = fmt.Sprintf(" — did you mean %q?", s)
			}
			r.errorf(k, "%s has no field %q%s (allowed: %s)", what, name, hint, strings.Join(allowed, ", "))
			continue
		}
		vals[name] = v
		keys[name] = k
	}
	return vals, keys
}

// str reads a scalar as text.
func (r *fileReader) str(n *yaml.Node, what string) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		r.errorf(n, "%s should be a single value, not %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// boolean reads yes/no values.
func (r *fileReader) boolean(n *yaml.Node, what string) bool {
	s, ok := r.str(n, what)
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "yes":
		return true
	case "false", "no":
		return false
	}
	r.errorf(n, "%s should be true or false, not %q", what, s)
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a group of fields"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closest suggests the allowed name nearest to a misspelt one.
func closest(s string, allowed []string) string {
	best, bestD := "", 3
	for _, a := range allowed {
		if d := match.EditDistance(s, a); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}
