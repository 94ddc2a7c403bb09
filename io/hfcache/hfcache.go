// Package hfcache finds models in the local Hugging Face hub cache, the folder huggingface_hub fills when a
// model is downloaded (`huggingface-cli download org/name`, `from_pretrained`). It never downloads anything.
//
// The cache holds one folder per repository, laid out by huggingface_hub as
//
//	<root>/models--<org>--<name>/
//	    refs/main                  the commit hash that branch (or tag) points to
//	    snapshots/<commit>/...     the files of that commit (symlinks into blobs/)
//	    blobs/<sha>
//
// where <root> is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (older name), else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. Start with Resolve.
package hfcache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ErrNotCached is wrapped by the error Resolve returns for a repository id that is not in the local cache.
var ErrNotCached = errors.New("not in the local Hugging Face cache")

// NotCachedError says which id and revision were asked for and every folder that was looked in.
type NotCachedError struct {
	ID       string   // org/name as given
	Revision string   // the revision asked for ("" = main)
	Looked   []string // folders examined, in order
	Reason   string   // what was missing in the closest match, if any

	downloadFlags string // "--repo-type dataset " for datasets
}

// Error says which id is missing, where it was looked for and how to fill the cache.
func (e *NotCachedError) Error() string {
	var b strings.Builder
	rev := ""
	if e.Revision != "" {
		rev = "@" + e.Revision
	}
	fmt.Fprintf(&b, "%s%s: no such local folder, and not in the local Hugging Face cache", e.ID, rev)
	if e.Reason != "" {
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	b.WriteString("; looked in:")
	for _, l := range e.Looked {
		b.WriteString("\n  " + l)
	}
	fmt.Fprintf(&b, "\nhift never downloads: fill the cache with `huggingface-cli download %s%s", e.downloadFlags, e.ID)
	if e.Revision != "" {
		fmt.Fprintf(&b, " --revision %s", e.Revision)
	}
	b.WriteString("` (or set HF_HUB_CACHE / HF_HOME to where the cache is), or pass a checkpoint folder")
	return b.String()
}

// Unwrap makes errors.Is(err, ErrNotCached) true.
func (e *NotCachedError) Unwrap() error { return ErrNotCached }

// Ref is a parsed model reference: a hub repository id and an optional revision.
type Ref struct {
	ID       string // "org/name" or a legacy bare "name" (gpt2)
	Revision string // branch, tag or commit hash; "" means main
}

// idPart is one component of a hub id (huggingface_hub's REPO_ID_REGEX allows letters, digits, "-", "_", ".").
var idPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// commitHash matches a full commit hash as the cache names snapshot folders.
var commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// hexDigits matches a (possibly short) commit hash.
var hexDigits = regexp.MustCompile(`^[0-9a-f]+$`)

// ParseRef parses "org/name", "name" or either with "@revision". It reports false for anything that cannot be
// a hub id (absolute or relative paths, file names with a path separator beyond the one slash, "..").
func ParseRef(s string) (Ref, bool) {
	id, rev := s, ""
	if i := strings.Index(s, "@"); i >= 0 {
		id, rev = s[:i], s[i+1:]
		if rev == "" || strings.Contains(rev, "..") || strings.HasPrefix(rev, "/") || strings.Contains(rev, `\`) {
			return Ref{}, false
		}
	}
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		return Ref{}, false
	}
	for _, p := range parts {
		if !idPart.MatchString(p) || strings.Contains(p, "..") || len(p) > 96 {
			return Ref{}, false
		}
	}
	return Ref{ID: id, Revision: rev}, true
}

// Roots returns the cache folders to search, most specific first, from the environment as huggingface_hub reads
// it. getenv is os.Getenv in production and a map lookup in tests; home is the user's home folder.
func Roots(getenv func(string) string, home string) []string {
	var roots []string
	add := func(p string) {
		if p == "" {
			return
		}
		for _, r := range roots {
			if r == p {
				return
			}
		}
		roots = append(roots, p)
	}
	add(getenv("HF_HUB_CACHE"))
	add(getenv("HUGGINGFACE_HUB_CACHE"))
	if h := getenv("HF_HOME"); h != "" {
		add(filepath.Join(h, "hub"))
	} else if x := getenv("XDG_CACHE_HOME"); x != "" {
		add(filepath.Join(x, "huggingface", "hub"))
	}
	if home != "" {
		add(filepath.Join(home, ".cache", "huggingface", "hub"))
	}
	return roots
}

// DefaultRoots is Roots for the current process environment.
func DefaultRoots() []string {
	home, _ := os.UserHomeDir()
	return Roots(os.Getenv, home)
}

// RepoFolder is the cache folder name of a model repository: "models--org--name".
func RepoFolder(id string) string {
	return "models--" + strings.ReplaceAll(id, "/", "--")
}

// DatasetFolder is the cache folder name of a dataset repository: "datasets--org--name".
func DatasetFolder(id string) string {
	return "datasets--" + strings.ReplaceAll(id, "/", "--")
}

// LookupDataset is Lookup for a dataset repository (`huggingface-cli download --repo-type dataset org/name`).
func LookupDataset(ref Ref, roots []string) (string, error) {
	return lookup(ref, roots, DatasetFolder(ref.ID), "--repo-type dataset ")
}

// Lookup finds ref in the given cache roots and returns its snapshot folder. The revision is looked up in
// refs/ (branch or tag), else taken as a commit hash (full, or a prefix of at least 7 hex digits naming one
// snapshot). Without a revision, refs/main is used; when there is no refs/main but exactly one snapshot, that
// one. The error is a *NotCachedError listing every folder examined.
func Lookup(ref Ref, roots []string) (string, error) {
	return lookup(ref, roots, RepoFolder(ref.ID), "")
}

func lookup(ref Ref, roots []string, folder, downloadFlags string) (string, error) {
	ne := &NotCachedError{ID: ref.ID, Revision: ref.Revision, downloadFlags: downloadFlags}
	for _, root := range roots {
		repo := filepath.Join(root, folder)
		ne.Looked = append(ne.Looked, repo)
		if st, err := os.Stat(repo); err != nil || !st.IsDir() {
			continue
		}
		snap, reason := lookupRepo(repo, ref.Revision)
		if reason == "" {
			return snap, nil
		}
		if ne.Reason == "" {
			ne.Reason = reason
		}
	}
	if len(roots) == 0 {
		ne.Looked = append(ne.Looked, "(no cache folder: HF_HUB_CACHE, HF_HOME and the home folder are unset)")
	}
	return "", ne
}

// lookupRepo resolves a revision inside one repository folder; reason is "" on success.
func lookupRepo(repo, rev string) (snapshot, reason string) {
	snaps := filepath.Join(repo, "snapshots")
	name := rev
	if name == "" {
		name = "main"
	}
	if b, err := os.ReadFile(filepath.Join(repo, "refs", filepath.FromSlash(name))); err == nil {
		hash := strings.TrimSpace(string(b))
		if !commitHash.MatchString(hash) {
			return "", fmt.Sprintf("%s holds %q, not a commit hash", filepath.Join(repo, "refs", name), hash)
		}
		dir := filepath.Join(snaps, hash)
		if isDir(dir) {
			return dir, ""
		}
		return "", fmt.Sprintf("refs/%s points to %s, but %s is missing", name, hash[:12], dir)
	}
	entries, _ := os.ReadDir(snaps)
	var all []string
	for _, e := range entries {
		if isDir(filepath.Join(snaps, e.Name())) {
			all = append(all, e.Name())
		}
	}
	sort.Strings(all)
	if rev == "" {
		if len(all) == 1 {
			return filepath.Join(snaps, all[0]), ""
		}
		return "", fmt.Sprintf("%s has no refs/main and %d snapshots: name one with @revision", repo, len(all))
	}
	if len(rev) >= 7 && hexDigits.MatchString(rev) {
		var hits []string
		for _, s := range all {
			if strings.HasPrefix(s, rev) {
				hits = append(hits, s)
			}
		}
		if len(hits) == 1 {
			return filepath.Join(snaps, hits[0]), ""
		}
		if len(hits) > 1 {
			return "", fmt.Sprintf("revision %s matches %d snapshots: give more of the hash", rev, len(hits))
		}
	}
	return "", fmt.Sprintf("%s has no branch or tag %q in refs/ and no snapshot with that commit (cached: %s)", repo, rev, strings.Join(short(all), ", "))
}

func short(hashes []string) []string {
	out := make([]string, len(hashes))
	for i, h := range hashes {
		if len(h) > 12 {
			h = h[:12]
		}
		out[i] = h
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Resolve turns a --model (or --tokenizer) value into a folder: a path that exists locally is returned as it is
// (it always wins over a hub id); otherwise spec is parsed as org/name[@revision] and looked up in roots (nil
// means DefaultRoots). A spec that is neither a local path nor a hub id is returned unchanged with ok false,
// so the caller reports it in its own terms.
func Resolve(spec string, roots []string) (path string, ok bool, err error) {
	if spec == "" {
		return "", false, nil
	}
	if _, err := os.Stat(spec); err == nil {
		return spec, true, nil
	}
	ref, isRef := ParseRef(spec)
	if !isRef {
		return spec, false, nil
	}
	if roots == nil {
		roots = DefaultRoots()
	}
	p, err := Lookup(ref, roots)
	if err != nil {
		return spec, false, err
	}
	return p, true, nil
}
