package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"tweetsdelclima/internal/artifact"
	"tweetsdelclima/internal/config"
)

// tweetsctl artifact push|pull: the Locust input file as an OCI artifact in Zot.
//
//	tweetsctl artifact push --ref zot.host:5000/tweets/locust-input:v1 --file locust/input/weather-distribution.json --plain-http
//	tweetsctl artifact pull --ref zot.host:5000/tweets/locust-input:v1 --file /data/weather-distribution.json --plain-http
//
// Credentials: --username (or REGISTRY_USERNAME) and the password from REGISTRY_PASSWORD only.
func init() {
	register("artifact", "push or pull the Locust input file (OCI artifact) to/from the registry", runArtifact)
}

func runArtifact(ctx context.Context, args []string) error {
	if len(args) < 1 || (args[0] != "push" && args[0] != "pull") {
		fmt.Fprintln(os.Stderr, "usage: tweetsctl artifact push|pull --ref host:port/repo:tag --file PATH [--plain-http] [--username U]\n"+
			"  the password is read from the environment variable REGISTRY_PASSWORD")
		return flag.ErrHelp
	}
	op := args[0]
	fs := flag.NewFlagSet("artifact "+op, flag.ContinueOnError)
	ref := fs.String("ref", "", "artifact reference with a tag, e.g. zot.tweets.internal:5000/tweets/locust-input:v1 (env REF)")
	file := fs.String("file", "", "push: the file to publish; pull: destination file or directory (env FILE)")
	plain := fs.Bool("plain-http", false, "talk plain HTTP to the registry (Zot without TLS inside the VPC) (env PLAIN_HTTP)")
	user := fs.String("username", "", "registry user name (env REGISTRY_USERNAME)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	// --username's environment variable is REGISTRY_USERNAME, not USERNAME: read it explicitly
	// below instead of letting config.Parse pick up the login shell's USERNAME.
	if err := config.Parse(fs, args[1:]); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["username"] {
		*user = os.Getenv("REGISTRY_USERNAME")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *ref == "" || *file == "" {
		return errors.New("--ref and --file are required")
	}
	o := artifact.Options{
		Ref: *ref, PlainHTTP: *plain,
		Username: *user, Password: config.Secret("REGISTRY_PASSWORD"),
	}
	if o.Password != "" && o.Username == "" {
		return errors.New("REGISTRY_PASSWORD is set but no --username / REGISTRY_USERNAME")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var res artifact.Result
	var err error
	if op == "push" {
		res, err = artifact.Push(ctx, o, *file)
	} else {
		res, err = artifact.Pull(ctx, o, *file)
	}
	if err != nil {
		return err
	}
	fmt.Printf("%sed %s\n  file     %s (%d bytes)\n  manifest %s\n  layer    %s\n  type     %s\n",
		op, res.Ref, res.FileName, res.Size, res.ManifestDigest, res.LayerDigest, artifact.ArtifactType)
	return nil
}
