// Package sdkcheck checks that the generated Pulumi package schema of our
// provider build speaks the same protocol as the npm SDK @pulumi/postgresql the
// project uses: the same resource and function tokens, the same input, output
// and state property names, required inputs, secret outputs, provider config
// keys and nested type properties. The SDK sends and expects exactly those, so
// any difference would break a program at run time.
//
// Inputs (environment):
//
//	PULUMI_POSTGRESQL_SCHEMA  the generated schema.json
//	POSTGRESQL_NPM_SDK        the installed package, e.g. node_modules/@pulumi/postgresql
//
// scripts/build-postgresql-provider.sh runs it after generating the schema.
// It uses only the standard library, so it compiles in seconds.
package sdkcheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Tokens the npm SDK has that our provider deliberately does not serve.
var sdkOnly = map[string]string{
	// A deprecated alias of DefaultPrivileges (same upstream resource) kept by
	// the published package for old programs; this project uses DefaultPrivileges.
	"postgresql:index/defaultPrivileg:DefaultPrivileg": "deprecated alias",
}

type property struct {
	Secret bool `json:"secret"`
}

type object struct {
	Properties map[string]property `json:"properties"`
	Required   []string            `json:"required"`
}

type resourceSpec struct {
	Properties      map[string]property `json:"properties"`
	InputProperties map[string]property `json:"inputProperties"`
	RequiredInputs  []string            `json:"requiredInputs"`
	StateInputs     *object             `json:"stateInputs"`
}

type functionSpec struct {
	Inputs *object `json:"inputs"`
}

type packageSpec struct {
	Name   string `json:"name"`
	Config struct {
		Variables map[string]property `json:"variables"`
	} `json:"config"`
	Types     map[string]object       `json:"types"`
	Provider  resourceSpec            `json:"provider"`
	Resources map[string]resourceSpec `json:"resources"`
	Functions map[string]functionSpec `json:"functions"`
}

var (
	reType          = regexp.MustCompile(`static __pulumiType = '([^']+)'`)
	reInput         = regexp.MustCompile(`resourceInputs\["(\w+)"\] = `)
	reStateInput    = regexp.MustCompile(`resourceInputs\["(\w+)"\] = state\?\.`)
	reRequired      = regexp.MustCompile(`if \(args\?\.(\w+) === undefined && !opts\.urn\)`)
	reSecretOutputs = regexp.MustCompile(`additionalSecretOutputs: \[([^\]]*)\]`)
	reInvoke        = regexp.MustCompile(`(?s)pulumi\.runtime\.invoke\("([^"]+)", \{(.*?)\}, opts`)
	reInvokeArg     = regexp.MustCompile(`"(\w+)": args`)
	reConfigVar     = regexp.MustCompile(`__config\.get\w*\("(\w+)"\)`)
	reQuoted        = regexp.MustCompile(`"(\w+)"`)
	reInterface     = regexp.MustCompile(`^(\s*)(?:export )?interface (\w+) \{$`)
	reNamespace     = regexp.MustCompile(`^export declare namespace (\w+) \{$`)
	reMember        = regexp.MustCompile(`^\s*(\w+)(\??): `)
)

func loadSchema(t *testing.T) packageSpec {
	t.Helper()
	path := os.Getenv("PULUMI_POSTGRESQL_SCHEMA")
	if path == "" {
		t.Fatal("PULUMI_POSTGRESQL_SCHEMA is not set (path of the generated schema.json)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("PULUMI_POSTGRESQL_SCHEMA=%s: %v", path, err)
	}
	var spec packageSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatalf("PULUMI_POSTGRESQL_SCHEMA=%s: %v", path, err)
	}
	if spec.Name != "postgresql" || len(spec.Resources) == 0 {
		t.Fatalf("PULUMI_POSTGRESQL_SCHEMA=%s: name %q with %d resources, want package postgresql with resources", path, spec.Name, len(spec.Resources))
	}
	return spec
}

func sdkDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("POSTGRESQL_NPM_SDK")
	if dir == "" {
		t.Fatal("POSTGRESQL_NPM_SDK is not set (directory of the installed @pulumi/postgresql)")
	}
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		t.Fatalf("POSTGRESQL_NPM_SDK=%s: %v", dir, err)
	}
	return dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func matches(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return set(out)
}

func set(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return set(out)
}

func secretKeys(m map[string]property) []string {
	var out []string
	for k, p := range m {
		if p.Secret {
			out = append(out, k)
		}
	}
	return set(out)
}

func union(a, b []string) []string { return set(append(append([]string{}, a...), b...)) }

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	out := []string{}
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func same(t *testing.T, what string, sdk, ours []string) {
	t.Helper()
	if strings.Join(sdk, ",") != strings.Join(ours, ",") {
		t.Errorf("%s differ: only in the npm SDK %v, only in our schema %v", what, minus(sdk, ours), minus(ours, sdk))
	}
}

// Each SDK resource class must have the same token and property names as our
// schema, and every schema resource must have an SDK class.
func TestResourcesMatchSDK(t *testing.T) {
	spec, dir := loadSchema(t), sdkDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.js"))
	seen := map[string]bool{}
	for _, f := range files {
		src := read(t, f)
		m := reType.FindStringSubmatch(src)
		if m == nil || strings.Contains(src, "extends pulumi.ProviderResource") {
			continue
		}
		tok := m[1]
		seen[tok] = true
		if _, skip := sdkOnly[tok]; skip {
			continue
		}
		res, ok := spec.Resources[tok]
		if !ok {
			t.Errorf("%s: the npm SDK's token %s is not in our schema", filepath.Base(f), tok)
			continue
		}
		same(t, tok+" properties (inputs and outputs)", matches(reInput, src), union(keys(res.Properties), keys(res.InputProperties)))
		var state []string
		if res.StateInputs != nil {
			state = keys(res.StateInputs.Properties)
		}
		same(t, tok+" state properties", matches(reStateInput, src), set(state))
		same(t, tok+" required inputs", matches(reRequired, src), set(res.RequiredInputs))
		var sdkSecrets []string
		if sm := reSecretOutputs.FindStringSubmatch(src); sm != nil {
			sdkSecrets = matches(reQuoted, sm[1])
		}
		same(t, tok+" secret outputs", set(sdkSecrets), secretKeys(res.Properties))
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d resource classes in %s; is it @pulumi/postgresql?", len(seen), dir)
	}
	for tok := range spec.Resources {
		if !seen[tok] {
			t.Errorf("our schema has resource %s, the npm SDK has no class for it", tok)
		}
	}
}

// The SDK's Provider class and config module must use our config keys.
func TestProviderConfigMatchesSDK(t *testing.T) {
	spec, dir := loadSchema(t), sdkDir(t)
	src := read(t, filepath.Join(dir, "provider.js"))
	if m := reType.FindStringSubmatch(src); m == nil || m[1] != spec.Name {
		t.Errorf("provider.js: provider type %v, want %q", m, spec.Name)
	}
	same(t, "Provider inputs", matches(reInput, src), union(keys(spec.Provider.InputProperties), keys(spec.Provider.Properties)))
	var sdkSecrets []string
	if sm := reSecretOutputs.FindStringSubmatch(src); sm != nil {
		sdkSecrets = matches(reQuoted, sm[1])
	}
	same(t, "Provider secret outputs", set(sdkSecrets), secretKeys(spec.Provider.InputProperties))
	vars := read(t, filepath.Join(dir, "config", "vars.js"))
	same(t, "config variables", matches(reConfigVar, vars), keys(spec.Config.Variables))
}

// Each SDK function must invoke one of our functions with its input names.
func TestFunctionsMatchSDK(t *testing.T) {
	spec, dir := loadSchema(t), sdkDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.js"))
	seen := map[string]bool{}
	for _, f := range files {
		for _, m := range reInvoke.FindAllStringSubmatch(read(t, f), -1) {
			tok := m[1]
			seen[tok] = true
			fn, ok := spec.Functions[tok]
			if !ok {
				t.Errorf("%s: the npm SDK invokes %s, not in our schema", filepath.Base(f), tok)
				continue
			}
			var ours []string
			if fn.Inputs != nil {
				ours = keys(fn.Inputs.Properties)
			}
			same(t, tok+" inputs", matches(reInvokeArg, m[2]), set(ours))
		}
	}
	if len(seen) == 0 {
		t.Fatalf("found no function invocations in %s", dir)
	}
	for tok := range spec.Functions {
		// Methods such as pulumi:providers:postgresql/terraformConfig are called, not invoked.
		if !seen[tok] && !strings.HasPrefix(tok, "pulumi:providers:") {
			t.Errorf("our schema has function %s, the npm SDK does not invoke it", tok)
		}
	}
}

// The nested object types (FunctionArg, SchemaPolicy, config.Clientcert, ...)
// must have the same property names and required properties.
func TestTypesMatchSDK(t *testing.T) {
	spec, dir := loadSchema(t), sdkDir(t)
	type iface struct{ props, required []string }
	sdk := map[string]iface{}
	for _, file := range []string{"input.d.ts", "output.d.ts"} {
		lines := strings.Split(read(t, filepath.Join(dir, "types", file)), "\n")
		ns := ""
		for i := 0; i < len(lines); i++ {
			if m := reNamespace.FindStringSubmatch(lines[i]); m != nil {
				ns = m[1] + "."
				continue
			}
			m := reInterface.FindStringSubmatch(lines[i])
			if m == nil {
				continue
			}
			if m[1] == "" {
				ns = ""
			}
			name := strings.ToLower(ns + m[2])
			var props, required []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "}"; i++ {
				if mm := reMember.FindStringSubmatch(lines[i]); mm != nil {
					props = append(props, mm[1])
					if mm[2] == "" {
						required = append(required, mm[1])
					}
				}
			}
			prev, dup := sdk[name]
			if dup && strings.Join(prev.props, ",") != strings.Join(set(props), ",") {
				t.Errorf("types/%s: %s differs between input and output types", file, name)
			}
			sdk[name] = iface{set(props), set(required)}
		}
	}
	if len(sdk) == 0 {
		t.Fatalf("found no interfaces in %s/types", dir)
	}
	ours := map[string]object{}
	for tok, typ := range spec.Types {
		// postgresql:index/FunctionArg:FunctionArg -> functionarg; postgresql:config/clientcert:clientcert -> config.clientcert
		parts := strings.Split(tok, ":")
		name := strings.ToLower(parts[len(parts)-1])
		if strings.HasPrefix(parts[1], "config/") {
			name = "config." + name
		}
		ours[name] = typ
	}
	for name, want := range sdk {
		got, ok := ours[name]
		if !ok {
			t.Errorf("the npm SDK has type %s, our schema does not", name)
			continue
		}
		same(t, "type "+name+" properties", want.props, keys(got.Properties))
		same(t, "type "+name+" required properties", want.required, set(got.Required))
	}
	for name := range ours {
		if _, ok := sdk[name]; !ok {
			t.Errorf("our schema has type %s, the npm SDK does not", name)
		}
	}
}
