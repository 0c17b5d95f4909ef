package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
)

// updateREADME regenerates the README's generated sections:
//
//	go test -run TestREADME ./internal/cli -update
var updateREADME = flag.Bool("update", false, "rewrite the generated sections of README.md")

// repoRoot is the module root, seen from this package's directory.
const repoRoot = "../.."

var readmePath = filepath.Join(repoRoot, "README.md")

// TestREADMEGeneratedSectionsAreCurrent: the tool table and the flag tables
// of README.md are what the code registers; a stale one fails with the
// command that regenerates it.
func TestREADMEGeneratedSectionsAreCurrent(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	readme := string(raw)
	sections := map[string]string{
		"tools":          toolTable(t),
		"serve-flags":    flagTable(t, "serve"),
		"emulator-flags": flagTable(t, "emulator"),
	}
	for _, name := range []string{"tools", "serve-flags", "emulator-flags"} {
		updated, err := replaceSection(readme, name, sections[name])
		require.NoError(t, err)
		if updated != readme && !*updateREADME {
			t.Errorf("README.md section %q is stale; regenerate it with: go test -run TestREADME ./internal/cli -update\nwant:\n%s", name, sections[name])
		}
		readme = updated
	}
	if *updateREADME {
		require.NoError(t, os.WriteFile(readmePath, []byte(readme), 0o644))
	}
}

// replaceSection puts body between <!-- name:start --> and <!-- name:end -->.
func replaceSection(doc, name, body string) (string, error) {
	start, end := "<!-- "+name+":start -->\n", "<!-- "+name+":end -->"
	i := strings.Index(doc, start)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("README.md has no %q … %q markers", strings.TrimSpace(start), end)
	}
	return doc[:i+len(start)] + body + doc[j:], nil
}

// toolTable lists the tools a default server registers.
func toolTable(t *testing.T) string {
	srv, err := mcpserver.New(mcpserver.Options{NewClient: func(context.Context) (*hfapi.Client, error) {
		return nil, fmt.Errorf("not used")
	}})
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("| tool | title | toolset | read-only | destructive | what it does |\n|---|---|---|---|---|---|\n")
	for _, tool := range srv.Tools() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", tool.Name, tool.Title, tool.Toolset,
			yesNo(tool.Hints.ReadOnly), yesNo(!tool.Hints.ReadOnly && tool.Hints.Destructive), cell(summaryOf(tool.Description)))
	}
	return b.String()
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// summaryOf is a description without its example.
func summaryOf(desc string) string {
	if i := strings.Index(desc, " Example:"); i >= 0 {
		desc = desc[:i]
	}
	return strings.TrimSpace(desc)
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }

var (
	flagLine = regexp.MustCompile(`^  --(\S+)(?: (\S+))?$`)
	envNote  = regexp.MustCompile(` \(env ([A-Z_]+)\)`)
	defNote  = regexp.MustCompile(` \(default ([^()]*)\)$`)
)

// helpFlag is one flag as its command's --help describes it.
type helpFlag struct{ name, kind, usage string }

// commandHelp returns the flags a subcommand's --help prints, with the
// environment variables it names unset so that defaults are the built-in ones.
func commandHelp(t *testing.T, cmd string) []helpFlag {
	help := func() string {
		var stdout bytes.Buffer
		err := Run(context.Background(), []string{cmd, "--help"}, &stdout, &bytes.Buffer{})
		require.ErrorIs(t, err, flag.ErrHelp)
		return stdout.String()
	}
	for _, m := range envNote.FindAllStringSubmatch(help(), -1) {
		t.Setenv(m[1], "")
	}
	var flags []helpFlag
	for _, line := range strings.Split(help(), "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			flags = append(flags, helpFlag{name: m[1], kind: m[2]})
		} else if rest, ok := strings.CutPrefix(line, "      "); ok && len(flags) > 0 {
			f := &flags[len(flags)-1]
			f.usage = strings.TrimSpace(f.usage + " " + rest)
		}
	}
	require.NotEmpty(t, flags, "%s -h lists flags", cmd)
	return flags
}

// flagTable documents a subcommand's flags from its real flag set.
func flagTable(t *testing.T, cmd string) string {
	var b strings.Builder
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	for _, f := range commandHelp(t, cmd) {
		usage, env, def := f.usage, "", ""
		if m := envNote.FindStringSubmatch(usage); m != nil {
			env, usage = "`"+m[1]+"`", strings.Replace(usage, m[0], "", 1)
		}
		if m := defNote.FindStringSubmatch(usage); m != nil {
			def, usage = "`"+strings.Trim(m[1], `"`)+"`", strings.TrimSuffix(usage, m[0])
		}
		name := "`--" + f.name
		if f.kind != "" {
			name += " " + f.kind
		}
		fmt.Fprintf(&b, "| %s` | %s | %s | %s |\n", name, env, def, cell(usage))
	}
	return b.String()
}

// TestREADMENamesEveryEnvironmentVariable: every environment variable the
// product reads (a string literal HF_…, MCP_… or XDG_… in non-test code outside
// bench/, examples/ and compat/) is documented in README.md.
func TestREADMENamesEveryEnvironmentVariable(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	envName := regexp.MustCompile(`"((?:HF|MCP|XDG)_[A-Z0-9_]+)"`)
	seen := map[string]string{}
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "bench", "examples", "compat", "testdata", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range envName.FindAllSubmatch(src, -1) {
			seen[string(m[1])] = path
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, seen)
	for name, path := range seen {
		require.True(t, bytes.Contains(raw, []byte("`"+name+"`")), "%s (read in %s) is not documented in README.md", name, path)
	}
}
