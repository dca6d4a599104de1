// Package config gives every service the same configuration rules: flags, each overridable by
// an environment variable named after it (--writer-timeout ↔ WRITER_TIMEOUT); a flag given on
// the command line wins over the environment. It also sets up structured logging.
package config

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// EnvName is the environment variable that overrides the flag with the given name.
func EnvName(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then fills every flag not given on the command line from its
// environment variable, if set. An invalid environment value is an error naming the variable.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment variable %s=%q: %w", EnvName(f.Name), v, e)
			}
		}
	})
	return err
}

// Common are the settings every service has.
type Common struct {
	OpsAddr         string
	LogLevel        string
	ShutdownTimeout time.Duration
	DrainDelay      time.Duration
}

// Register adds the common flags to fs.
func (c *Common) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.OpsAddr, "ops-addr", ":9090", "address of the ops server (/healthz, /readyz, /metrics)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long a graceful shutdown may take")
	fs.DurationVar(&c.DrainDelay, "drain-delay", 0, "time between reporting not-ready and closing listeners (give load balancers time to notice)")
}

// Logger returns a JSON slog logger at the configured level, tagged with the service name.
func (c *Common) Logger(w io.Writer, service string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})).With("service", service), nil
}

// Secret reads a secret from the environment only (never from a flag default).
func Secret(name string) string { return os.Getenv(name) }
