// Package service runs a service's lifecycle the same way in every binary: parse flags+env,
// log in JSON, start the ops server, run, and on SIGTERM/SIGINT report not-ready first, wait
// the drain delay, then stop accepting work and finish what is in flight.
package service

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"tweetsdelclima/internal/config"
	"tweetsdelclima/internal/ops"
)

// Version is set at build time: -ldflags "-X tweetsdelclima/internal/service.Version=..."
var Version = "dev"

// Service is one running binary.
type Service struct {
	Name   string
	Common config.Common
	Log    *slog.Logger
	Ops    *ops.Server

	cleanups []func()
}

// Defer registers f to run after the service has stopped (its run function has returned),
// last registered first, before the process exits.
func (s *Service) Defer(f func()) { s.cleanups = append(s.cleanups, f) }

// Setup parses flags (registered by register on a new flag set) and the environment, and
// builds the logger. It exits with status 2 on a configuration error.
func Setup(name string, args []string, register func(fs *flag.FlagSet)) *Service {
	s := &Service{Name: name}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	s.Common.Register(fs)
	register(fs)
	if err := config.Parse(fs, args); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	log, err := s.Common.Logger(os.Stderr, name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	s.Log = log
	return s
}

// Fatal logs and exits 1.
func (s *Service) Fatal(msg string, err error) {
	s.Log.Error(msg, "err", err)
	os.Exit(1)
}

// StartOps starts the ops server with the given readiness checks.
func (s *Service) StartOps(checks ...func(context.Context) error) {
	s.Ops = ops.New(s.Common.OpsAddr, s.Log, checks...)
	if err := s.Ops.Start(); err != nil {
		s.Fatal("ops server", err)
	}
}

// Run marks the service ready, waits for a signal (or for run to end), then shuts down:
// not-ready, drain delay, stop(ctx) bounded by the shutdown timeout, run's context cancelled
// and awaited, the Defer'd cleanups, ops server last. It does not return: it exits.
// run is the service's main loop (may be nil when the work happens in servers started before);
// its context is cancelled when shutdown begins.
func (s *Service) Run(run func(ctx context.Context) error, stop func(ctx context.Context) error) {
	sigCtx, cancelSig := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancelSig()
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	runErr := make(chan error, 1)
	if run != nil {
		go func() { runErr <- run(runCtx) }()
	}
	s.Ops.SetReady(true)
	s.Log.Info("started", "version", Version)
	exit := 0
	select {
	case <-sigCtx.Done():
		s.Log.Info("shutdown requested: reporting not ready", "drain_delay", s.Common.DrainDelay.String())
	case err := <-runErr:
		if err != nil {
			s.Log.Error("stopped", "err", err)
			exit = 1
		}
		run = nil
	}
	s.Ops.SetReady(false)
	time.Sleep(s.Common.DrainDelay)
	ctx, cancel := context.WithTimeout(context.Background(), s.Common.ShutdownTimeout)
	defer cancel()
	if stop != nil {
		if err := stop(ctx); err != nil {
			s.Log.Error("graceful stop", "err", err)
			exit = 1
		}
	}
	cancelRun()
	if run != nil {
		select {
		case err := <-runErr:
			if err != nil && err != context.Canceled {
				s.Log.Error("run", "err", err)
				exit = 1
			}
		case <-ctx.Done():
			s.Log.Error("run did not finish within the shutdown timeout")
			exit = 1
		}
	}
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	_ = s.Ops.Shutdown(ctx)
	s.Log.Info("stopped", "exit", exit)
	os.Exit(exit)
}
