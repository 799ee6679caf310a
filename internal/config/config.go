// Package config resolves a command's options from four layers, lowest
// first: the flag defaults, a YAML file (--config FILE or RPO_CONFIG), the
// RPO_* environment, and the flags given on the command line. Every command
// run gets its own viper instance: a shared global viper silently mixes the
// flags of different commands (spf13/viper#233).
//
// A key is the flag name with '-' replaced by '_' ("lambda-val" →
// "lambda_val"); its environment variable is RPO_ and the key in upper case
// (RPO_LAMBDA_VAL). Every key is bound to the environment explicitly, since
// viper's Unmarshal ignores AutomaticEnv values for keys it does not know
// (spf13/viper#761).
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// FileFlag is the flag (and key) that names the configuration file.
const FileFlag = "config"

// Key returns the configuration key of a flag name.
func Key(flag string) string { return strings.ReplaceAll(flag, "-", "_") }

// EnvVar returns the environment variable of a key.
func EnvVar(key string) string { return "RPO_" + strings.ToUpper(key) }

// Load resolves the options of cmd (after its flags are parsed) into opts,
// a pointer to a struct whose fields carry `mapstructure` tags equal to the
// keys. A key in the file that the command has no flag for is an error
// naming the file, and an RPO_* variable whose value does not parse is an
// error naming the variable, so that a typo is never silently ignored; an
// RPO_* variable the command does not take is returned as a warning naming
// the closest key (the environment is shared with other commands).
func Load(cmd *cobra.Command, opts any) ([]string, error) {
	v := viper.New()
	known := map[string]bool{}
	var bindErr error
	visit := func(f *pflag.Flag) {
		if f.Name == "help" || f.Name == FileFlag {
			return
		}
		k := Key(f.Name)
		if known[k] {
			return
		}
		known[k] = true
		if err := v.BindPFlag(k, f); err != nil && bindErr == nil {
			bindErr = err
		}
		if err := v.BindEnv(k, EnvVar(k)); err != nil && bindErr == nil {
			bindErr = err
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if bindErr != nil {
		return nil, fmt.Errorf("config: %w", bindErr)
	}
	warnings, err := checkEnv(cmd, known)
	if err != nil {
		return nil, err
	}
	recorded, err := readRecorded(cmd, v, known)
	if err != nil {
		return nil, err
	}
	if recorded != nil {
		if err := v.MergeConfigMap(recorded); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	file := ""
	if f := cmd.Flags().Lookup(FileFlag); f != nil {
		file = f.Value.String()
	}
	if file == "" {
		file = os.Getenv(EnvVar(FileFlag))
	}
	if file != "" {
		m, err := readFile(file)
		if err != nil {
			return nil, err
		}
		var unknown []string
		for k := range m {
			if !known[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			keys := make([]string, 0, len(known))
			for k := range known {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("config: %s: unknown key %s for `%s` (it takes: %s)", file, strings.Join(unknown, ", "), cmd.CommandPath(), strings.Join(keys, ", "))
		}
		if err := v.MergeConfigMap(m); err != nil {
			return nil, fmt.Errorf("config: %s: %w", file, err)
		}
	}
	if err := v.Unmarshal(opts); err != nil {
		return nil, fmt.Errorf("config: %s: %w", describe(file), err)
	}
	return warnings, nil
}

// checkEnv checks the RPO_* environment: a value that does not parse as
// its flag's type is an error naming the variable; a variable the command
// does not take is a warning naming the closest key's variable.
func checkEnv(cmd *cobra.Command, known map[string]bool) ([]string, error) {
	var warnings []string
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "RPO_") || name == EnvVar(FileFlag) {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(name, "RPO_"))
		if !known[key] {
			w := fmt.Sprintf("%s is not an option of `%s`; ignored", name, cmd.CommandPath())
			if c := closest(key, known); c != "" {
				w += fmt.Sprintf(" (did you mean %s?)", EnvVar(c))
			}
			warnings = append(warnings, w)
			continue
		}
		f := cmd.Flags().Lookup(strings.ReplaceAll(key, "_", "-"))
		if f == nil {
			f = cmd.InheritedFlags().Lookup(strings.ReplaceAll(key, "_", "-"))
		}
		if f != nil && !parses(f.Value.Type(), val) {
			return nil, fmt.Errorf("config: %s=%q: not a valid %s (the value of --%s)", name, val, f.Value.Type(), f.Name)
		}
	}
	sort.Strings(warnings)
	return warnings, nil
}

// parses reports whether val is a valid value of a flag of type typ.
func parses(typ, val string) bool {
	var err error
	switch typ {
	case "int", "int64":
		_, err = strconv.ParseInt(val, 10, 64)
	case "uint64", "uint":
		_, err = strconv.ParseUint(val, 10, 64)
	case "float64":
		_, err = strconv.ParseFloat(val, 64)
	case "bool":
		_, err = strconv.ParseBool(val)
	case "duration":
		_, err = time.ParseDuration(val)
	}
	return err == nil
}

// closest is the known key nearest to key in edit distance, if it is
// within a third of the key's length.
func closest(key string, known map[string]bool) string {
	best, bestD := "", len(key)/3+1
	for k := range known {
		if d := editDistance(key, k); d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// RunFile is the file in a run directory that records the options the run
// was started with.
const RunFile = "run.yaml"

// notRecorded are the keys a resumed run does not take from its RunFile.
var notRecorded = map[string]bool{"out": true, "resume": true, "force": true, "log_level": true, "log_format": true}

// readRecorded returns, for a command run with --resume, the options that
// --out's RunFile recorded (keys the command knows, except notRecorded):
// they sit above the flag defaults and below a --config file, the
// environment and the flags, so that `--out DIR --resume` alone continues a
// run as it was started. It returns nil for other runs.
func readRecorded(cmd *cobra.Command, v *viper.Viper, known map[string]bool) (map[string]any, error) {
	if !known["resume"] || !known["out"] || !v.GetBool("resume") || v.GetString("out") == "" {
		return nil, nil
	}
	path := filepath.Join(v.GetString("out"), RunFile)
	if _, err := os.Stat(path); err != nil {
		return nil, nil
	}
	m, err := readFile(path)
	if err != nil {
		return nil, err
	}
	for k := range m {
		if !known[k] || notRecorded[k] {
			delete(m, k)
		}
	}
	return m, nil
}

func describe(file string) string {
	if file == "" {
		return "flags and environment"
	}
	return file
}

// readFile parses a YAML configuration file into a flat map of keys.
func readFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config: %s: no such file", path)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("config: %s: not valid YAML: %w", path, err)
	}
	for k, val := range m {
		if _, nested := val.(map[string]any); nested {
			return nil, fmt.Errorf("config: %s: key %q holds a map; configuration files are flat (key: value)", path, k)
		}
	}
	return m, nil
}

// Dump renders resolved options as YAML (their `yaml` tags).
func Dump(opts any) ([]byte, error) { return yaml.Marshal(opts) }
