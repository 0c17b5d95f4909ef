package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/nearest"
)

// flagGroup is a titled run of flags in a command's usage.
type flagGroup struct {
	title string
	names []string
}

// commandFlags is a command's flag set with its flags in titled groups. It
// prints usage with double-dash flags, the environment variable each reads,
// and no secret's value, and turns parse errors into one line with a hint.
type commandFlags struct {
	command string // "serve", "emulator"
	header  string // what precedes the flags in the usage
	fs      *flag.FlagSet
	groups  []flagGroup
	secrets map[string]bool
}

func newCommandFlags(command, header string) *commandFlags {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are reported by parse, usage by printUsage
	fs.Usage = func() {}
	return &commandFlags{command: command, header: header, fs: fs, secrets: map[string]bool{}}
}

// group runs register and files every flag it adds under title.
func (c *commandFlags) group(title string, register func(fs *flag.FlagSet)) {
	before := map[string]bool{}
	c.fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
	register(c.fs)
	g := flagGroup{title: title}
	c.fs.VisitAll(func(f *flag.Flag) {
		if !before[f.Name] {
			g.names = append(g.names, f.Name)
		}
	})
	c.groups = append(c.groups, g)
}

// secret marks flags whose values usage never prints: a value taken from the
// environment shows as "(set)".
func (c *commandFlags) secret(names ...string) {
	for _, n := range names {
		c.secrets[n] = true
	}
}

// hfTokenShape is what an HF token looks like; such a default is never printed,
// whichever flag it belongs to.
var hfTokenShape = regexp.MustCompile(`hf_[A-Za-z0-9]{8,}`)

// defaultText is how usage shows a flag's default: empty for none.
func (c *commandFlags) defaultText(f *flag.Flag) string {
	switch {
	case f.DefValue == "" || f.DefValue == "false" || f.DefValue == "[]":
		return ""
	case c.secrets[f.Name] || hfTokenShape.MatchString(f.DefValue):
		return "(set)"
	}
	if u, err := url.Parse(f.DefValue); err == nil && u.User != nil {
		return u.Redacted() // a URL's password (--redis-url) shows as xxxxx
	}
	return f.DefValue
}

// valueName is the placeholder for a flag's value: a backquoted word in its
// usage, else its type; none for a boolean.
func valueName(f *flag.Flag) string {
	name, _ := flag.UnquoteUsage(f)
	if name == "value" {
		return "list"
	}
	return name
}

// printUsage writes the command's help.
func (c *commandFlags) printUsage(w io.Writer) {
	fmt.Fprint(w, c.header)
	for _, g := range c.groups {
		if len(g.names) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.names {
			f := c.fs.Lookup(name)
			line := "  --" + f.Name
			if v := valueName(f); v != "" {
				line += " " + v
			}
			_, usage := flag.UnquoteUsage(f)
			switch def := c.defaultText(f); def {
			case "":
			case "(set)":
				usage += " (set)"
			default:
				usage += " (default " + def + ")"
			}
			fmt.Fprintf(w, "%s\n      %s\n", line, usage)
		}
	}
}

// parse parses args. --help (or -h) prints usage to stdout and returns
// flag.ErrHelp; any other error is one line naming the problem, the nearest
// valid flag where one was misspelt, and where to find them all.
func (c *commandFlags) parse(args []string, stdout io.Writer) error {
	err := c.fs.Parse(args)
	switch {
	case err == nil:
		if c.fs.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q: %s takes only flags; run '%s --help' for them",
				c.fs.Arg(0), c.command, c.helpCommand())
		}
		return nil
	case errors.Is(err, flag.ErrHelp):
		c.printUsage(stdout)
		return flag.ErrHelp
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		msg = "unknown flag --" + name
		if near := c.nearest(name); near != "" {
			msg += "; did you mean --" + near + "?"
		}
	} else {
		// The flag package names flags with one dash; the usage shows two.
		msg = singleDashFlag.ReplaceAllString(msg, "$1--$2")
	}
	return fmt.Errorf("%s (run '%s --help' for the flags)", msg, c.helpCommand())
}

var singleDashFlag = regexp.MustCompile(`(^|[\s:])-([a-z][a-z0-9-]*)`)

func (c *commandFlags) helpCommand() string {
	return "hf-endpoints-mcp " + c.command
}

// nearest is the defined flag closest to name, if any is close enough to be a
// likely typo.
func (c *commandFlags) nearest(name string) string {
	var names []string
	c.fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return nearest.Name(name, names)
}

// explicitlySet reports which of names were given on the command line.
func (c *commandFlags) explicitlySet(names []string) []string {
	var set []string
	c.fs.Visit(func(f *flag.Flag) {
		if slices.Contains(names, f.Name) {
			set = append(set, f.Name)
		}
	})
	return set
}

// groupNamed returns the flags of the group with that title.
func (c *commandFlags) groupNamed(title string) []string {
	for _, g := range c.groups {
		if g.title == title {
			return g.names
		}
	}
	return nil
}
