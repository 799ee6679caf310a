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
	"strings"

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
// naming the file, so that a typo is never silently ignored.
func Load(cmd *cobra.Command, opts any) error {
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
		return fmt.Errorf("config: %w", bindErr)
	}
	recorded, err := readRecorded(cmd, v, known)
	if err != nil {
		return err
	}
	if recorded != nil {
		if err := v.MergeConfigMap(recorded); err != nil {
			return fmt.Errorf("config: %w", err)
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
			return err
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
			return fmt.Errorf("config: %s: unknown key %s for `%s` (it takes: %s)", file, strings.Join(unknown, ", "), cmd.CommandPath(), strings.Join(keys, ", "))
		}
		if err := v.MergeConfigMap(m); err != nil {
			return fmt.Errorf("config: %s: %w", file, err)
		}
	}
	if err := v.Unmarshal(opts); err != nil {
		return fmt.Errorf("config: %s: %w", describe(file), err)
	}
	return nil
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
