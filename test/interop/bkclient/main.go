// bkclient drives a build daemon through BuildKit's own Go client library (the `client`,
// `session` and `llb` packages that buildctl is made of, as Debian ships them in
// golang-github-docker-docker-dev), so the interop tests can check kilnd against a real
// BuildKit client when no buildctl binary can be had. Its flags follow buildctl's:
//
//	bkclient --addr unix:///run/kiln/kilnd.sock build --frontend dockerfile.v0 \
//	    --local context=. --local dockerfile=. --opt build-arg:X=1 \
//	    --output type=local,dest=out --progress plain --metadata-file md.json
//	bkclient --addr … build --output type=tar,dest=out.tar < definition   (LLB on stdin)
//	bkclient llb-demo > definition    (a Definition marshalled by BuildKit's llb package)
//	bkclient --addr … debug workers
//	bkclient --addr … du
//
// `build --gateway` runs the frontend through the client-side gateway (Control.Solve with an
// empty frontend, then LLBBridge.Solve/Return routed by buildkit-controlapi-buildid), as buildx
// does.
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	global := flag.NewFlagSet("bkclient", flag.ContinueOnError)
	addr := global.String("addr", os.Getenv("BUILDKIT_HOST"), "daemon address")
	if err := global.Parse(args); err != nil {
		return err
	}
	rest := global.Args()
	if len(rest) == 0 {
		return errors.New("usage: bkclient [--addr A] build|llb-demo|debug workers|du")
	}
	ctx := context.Background()
	if rest[0] == "llb-demo" {
		return llbDemo(ctx, os.Stdout)
	}
	c, err := client.New(ctx, *addr, client.WithFailFast())
	if err != nil {
		return err
	}
	defer c.Close()
	switch {
	case rest[0] == "build":
		return build(ctx, c, rest[1:])
	case rest[0] == "debug" && len(rest) > 1 && rest[1] == "workers":
		workers, err := c.ListWorkers(ctx)
		if err != nil {
			return err
		}
		for _, w := range workers {
			var platforms []string
			for _, p := range w.Platforms {
				platforms = append(platforms, p.OS+"/"+p.Architecture)
			}
			fmt.Printf("%s\t%s\n", w.ID, strings.Join(platforms, ","))
		}
		return nil
	case rest[0] == "du":
		usage, err := c.DiskUsage(ctx)
		if err != nil {
			return err
		}
		for _, u := range usage {
			fmt.Printf("%s\t%d\t%t\n", u.ID, u.Size, u.InUse)
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", strings.Join(rest, " "))
}

// llbDemo writes a Definition made by BuildKit's llb package: files made by a FileOp, copied
// into a second state and merged, so kilnd has to load LLB it did not marshal itself.
func llbDemo(ctx context.Context, w io.Writer) error {
	base := llb.Scratch().
		File(llb.Mkdir("/data", 0o755)).
		File(llb.Mkfile("/data/hello.txt", 0o640, []byte("hello from llb\n")))
	out := llb.Scratch().
		File(llb.Copy(base, "/data/hello.txt", "/copied.txt")).
		File(llb.Mkfile("/second.txt", 0o600, []byte("second\n")))
	def, err := out.Marshal(ctx)
	if err != nil {
		return err
	}
	return llb.WriteTo(def, w)
}

func build(ctx context.Context, c *client.Client, args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	frontend := fs.String("frontend", "", "frontend (empty: LLB on stdin)")
	progress := fs.String("progress", "plain", "plain")
	metadataFile := fs.String("metadata-file", "", "write the exporter response here")
	viaGateway := fs.Bool("gateway", false, "run the frontend through the client-side gateway")
	inspect := fs.String("gateway-inspect", "", "with --gateway: after the solve, read PATH from the result "+
		"(ReadFile, StatFile, ReadDir of its directory) and resolve IMAGE's config: PATH,IMAGE; printed as JSON")
	var locals, opts, outputs, secrets multi
	fs.Var(&locals, "local", "name=path")
	fs.Var(&opts, "opt", "key=value")
	fs.Var(&outputs, "output", "type=…,k=v")
	fs.Var(&secrets, "secret", "id=…,src=…")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *progress != "plain" {
		return fmt.Errorf("only --progress plain is supported, not %q", *progress)
	}
	solveOpt := client.SolveOpt{
		Frontend:      *frontend,
		FrontendAttrs: map[string]string{},
		LocalDirs:     map[string]string{},
		Session:       []session.Attachable{anonymousAuth{&auth.UnimplementedAuthServer{}}},
	}
	for _, l := range locals {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("--local %q: want name=path", l)
		}
		solveOpt.LocalDirs[k] = v
	}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		solveOpt.FrontendAttrs[k] = v
	}
	for _, o := range outputs {
		entry, err := exportEntry(o)
		if err != nil {
			return err
		}
		solveOpt.Exports = append(solveOpt.Exports, entry)
	}
	if len(secrets) > 0 {
		var sources []secretsprovider.Source
		for _, s := range secrets {
			fields, err := keyValues(s)
			if err != nil {
				return err
			}
			sources = append(sources, secretsprovider.Source{ID: fields["id"], FilePath: fields["src"]})
		}
		store, err := secretsprovider.NewStore(sources)
		if err != nil {
			return err
		}
		solveOpt.Session = append(solveOpt.Session, secretsprovider.NewSecretProvider(store))
	}

	var def *llb.Definition
	if *frontend == "" {
		var err error
		if def, err = llb.ReadFrom(os.Stdin); err != nil {
			return fmt.Errorf("reading LLB from stdin: %w", err)
		}
	}

	ch := make(chan *client.SolveStatus)
	eg, ctx := errgroup.WithContext(ctx)
	var resp *client.SolveResponse
	eg.Go(func() error {
		var err error
		if *viaGateway {
			attrs := solveOpt.FrontendAttrs
			name := solveOpt.Frontend
			solveOpt.Frontend = ""
			solveOpt.FrontendAttrs = nil
			resp, err = c.Build(ctx, solveOpt, "bkclient", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
				res, err := gc.Solve(ctx, gateway.SolveRequest{Frontend: name, FrontendOpt: attrs})
				if err != nil || *inspect == "" {
					return res, err
				}
				return res, inspectResult(ctx, gc, res, *inspect)
			}, ch)
		} else {
			resp, err = c.Solve(ctx, def, solveOpt, ch)
		}
		return err
	})
	eg.Go(func() error {
		printStatus(os.Stderr, ch)
		return nil
	})
	if err := eg.Wait(); err != nil {
		return err
	}
	keys := make([]string, 0, len(resp.ExporterResponse))
	for k := range resp.ExporterResponse {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "%s=%s\n", k, resp.ExporterResponse[k])
	}
	if *metadataFile != "" {
		dt, err := json.MarshalIndent(resp.ExporterResponse, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*metadataFile, dt, 0o644)
	}
	return nil
}

// printStatus prints the status stream plainly: each vertex as it starts, is cached, completes
// or fails (numbered in order of appearance, like buildctl's #N), status bytes and log lines.
// (BuildKit's progressui needs a vt100 fork that Debian does not ship.)
func printStatus(w io.Writer, ch chan *client.SolveStatus) {
	index := map[string]int{}
	number := func(d string) int {
		if _, ok := index[d]; !ok {
			index[d] = len(index) + 1
		}
		return index[d]
	}
	names := map[string]string{}
	for s := range ch {
		for _, v := range s.Vertexes {
			d := v.Digest.String()
			n := number(d)
			names[d] = v.Name
			switch {
			case v.Error != "":
				fmt.Fprintf(w, "#%d %s ERROR: %s\n", n, v.Name, v.Error)
			case v.Cached:
				fmt.Fprintf(w, "#%d %s CACHED\n", n, v.Name)
			case v.Completed != nil:
				fmt.Fprintf(w, "#%d %s DONE\n", n, v.Name)
			case v.Started != nil:
				fmt.Fprintf(w, "#%d %s\n", n, v.Name)
			}
		}
		for _, st := range s.Statuses {
			if st.Completed != nil {
				fmt.Fprintf(w, "#%d %s %d done\n", number(st.Vertex.String()), st.ID, st.Current)
			}
		}
		for _, l := range s.Logs {
			for _, line := range strings.Split(strings.TrimRight(string(l.Data), "\n"), "\n") {
				fmt.Fprintf(w, "#%d %s\n", number(l.Vertex.String()), line)
			}
		}
	}
}

// inspectResult exercises LLBBridge.ReadFile, StatFile, ReadDir and ResolveImageConfig the way a
// client-side frontend does, and prints what they return as one JSON object on stdout.
func inspectResult(ctx context.Context, gc gateway.Client, res *gateway.Result, spec string) error {
	file, image, _ := strings.Cut(spec, ",")
	ref, err := res.SingleRef()
	if err != nil {
		return err
	}
	out := map[string]interface{}{}
	data, err := ref.ReadFile(ctx, gateway.ReadRequest{Filename: file})
	if err != nil {
		return fmt.Errorf("ReadFile %s: %w", file, err)
	}
	out["readFile"] = string(data)
	part, err := ref.ReadFile(ctx, gateway.ReadRequest{Filename: file, Range: &gateway.FileRange{Offset: 1, Length: 2}})
	if err != nil {
		return fmt.Errorf("ReadFile %s with a range: %w", file, err)
	}
	out["readFileRange"] = string(part)
	st, err := ref.StatFile(ctx, gateway.StatRequest{Path: file})
	if err != nil {
		return fmt.Errorf("StatFile %s: %w", file, err)
	}
	out["stat"] = map[string]interface{}{"path": st.Path, "mode": st.Mode, "size": st.Size_}
	dir := file[:strings.LastIndex(file, "/")+1]
	entries, err := ref.ReadDir(ctx, gateway.ReadDirRequest{Path: dir})
	if err != nil {
		return fmt.Errorf("ReadDir %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Path)
	}
	out["readDir"] = names
	if image != "" {
		dgst, config, err := gc.ResolveImageConfig(ctx, image, llb.ResolveImageConfigOpt{})
		if err != nil {
			return fmt.Errorf("ResolveImageConfig %s: %w", image, err)
		}
		out["imageDigest"] = dgst.String()
		out["imageConfig"] = json.RawMessage(config)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// anonymousAuth serves the session's Auth service with no credentials for any host, so the
// daemon asks and pulls anonymously. (BuildKit's authprovider, which reads
// ~/.docker/config.json, pulls in progressui, which needs a vt100 fork Debian lacks.)
type anonymousAuth struct{ *auth.UnimplementedAuthServer }

func (a anonymousAuth) Register(server *grpc.Server) { auth.RegisterAuthServer(server, a) }

func (anonymousAuth) Credentials(context.Context, *auth.CredentialsRequest) (*auth.CredentialsResponse, error) {
	return &auth.CredentialsResponse{}, nil
}

func keyValues(s string) (map[string]string, error) {
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	out := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%q: %q is not key=value", s, f)
		}
		out[strings.ToLower(k)] = v
	}
	return out, nil
}

// exportEntry turns `type=local,dest=out` into the ExportEntry buildctl would make: local
// exports write into OutputDir; tar, oci and docker exports into a file (or stdout for `-`).
func exportEntry(s string) (client.ExportEntry, error) {
	fields, err := keyValues(s)
	if err != nil {
		return client.ExportEntry{}, err
	}
	entry := client.ExportEntry{Type: fields["type"], Attrs: map[string]string{}}
	dest := fields["dest"]
	for k, v := range fields {
		if k != "type" && k != "dest" {
			entry.Attrs[k] = v
		}
	}
	switch entry.Type {
	case client.ExporterLocal:
		if dest == "" {
			return entry, errors.New("type=local needs dest=")
		}
		entry.OutputDir = dest
	case client.ExporterTar, client.ExporterOCI, client.ExporterDocker:
		if dest == "" {
			return entry, fmt.Errorf("type=%s needs dest=", entry.Type)
		}
		entry.Output = func(map[string]string) (io.WriteCloser, error) {
			if dest == "-" {
				return os.Stdout, nil
			}
			return os.Create(dest)
		}
	case client.ExporterImage, "":
	default:
		return entry, fmt.Errorf("unknown exporter type %q", entry.Type)
	}
	return entry, nil
}
