package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// checkOutFile refuses the output FILE of --flag when it is a folder, when it is one of the inputs or lies in an
// input folder (writing would destroy what is being read), or, without overwrite, when it exists already: a
// user's file is replaced only when they say so.
func checkOutFile(flag, out string, overwrite bool, inputs ...string) error {
	st, err := os.Stat(out)
	if err != nil {
		return nil // does not exist (or cannot be read): the write itself reports what is wrong
	}
	if st.IsDir() {
		return badInput("--%s %s is a folder; give the file to write", flag, out)
	}
	if !st.Mode().IsRegular() {
		// A device, pipe or socket: the write goes to a temp file renamed over it, which would replace the
		// device node itself (as root) rather than write into it.
		return badInput("--%s %s is not a regular file (%s); give a file path", flag, out, fileKind(st.Mode()))
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		ist, err := os.Stat(in)
		if err != nil {
			continue
		}
		if os.SameFile(st, ist) {
			return badInput("--%s %s is the input %s; write to another file", flag, out, in)
		}
		if dst, err := os.Stat(filepath.Dir(out)); ist.IsDir() && err == nil && os.SameFile(dst, ist) {
			return badInput("--%s %s would replace a file of the input folder %s; write to another file", flag, out, in)
		}
	}
	if !overwrite {
		return badInput("--%s %s already exists; give --overwrite to replace it, or choose another file", flag, out)
	}
	return nil
}

// checkOutFolder refuses a checkpoint output folder that is one of the input folders or that already
// holds a checkpoint (weights or config.json), which writing would silently replace.
func checkOutFolder(flag, out string, inputs ...string) error {
	st, err := os.Stat(out)
	if err != nil {
		return nil
	}
	if !st.IsDir() {
		return badInput("--%s %s is a file; give a folder to write", flag, out)
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if ist, err := os.Stat(in); err == nil && ist.IsDir() && os.SameFile(st, ist) {
			return badInput("--%s %s is the input's folder; write to a new folder", flag, out)
		}
	}
	entries, _ := os.ReadDir(out) // not Glob: the folder's own name may hold [ or *
	for _, e := range entries {
		n := e.Name()
		for _, suffix := range []string{".safetensors", ".safetensors.index.json", ".bin"} {
			if strings.HasSuffix(n, suffix) || n == "config.json" {
				return badInput("--%s %s already holds a checkpoint (%s); choose a new or empty folder", flag, out, n)
			}
		}
	}
	return nil
}

// makeOutParent creates the folder an output file goes into (as import creates its --out's parents), so
// `--out new/dir/model.gguf` works; the error names the flag and the folder.
func makeOutParent(flag, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("--%s %s: cannot create its folder: %w", flag, out, err)
	}
	return nil
}

// fileKind names what a non-regular file is, for an error message.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "not a plain file"
}
