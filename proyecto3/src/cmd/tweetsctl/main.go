// Command tweetsctl is the operator's tool: it empties the database for a demonstration,
// prints what the dashboard shows, and moves the Locust input file to and from the registry.
//
//	tweetsctl reset --yes          empty Valkey so every Grafana panel shows "No data"
//	tweetsctl summary              print the dashboard's numbers and the broker comparison
//	tweetsctl artifact push|pull   publish or fetch the Locust input file as an OCI artifact
//
// Every subcommand takes its flags after its name; each flag has an environment override
// (--valkey-addr ↔ VALKEY_ADDR).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand; each registers itself in init() from its own file.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: tweetsctl <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "tweetsctl: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, os.Args[2:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "tweetsctl %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
