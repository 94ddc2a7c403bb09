//go:build cgo && !noxla

package graph

// The XLA backend (PJRT plugins through dlopen). Needs cgo; pure-Go builds use -tags noxla
// (gomlx-notes.md P12).
import _ "github.com/gomlx/gomlx/backends/xla"

const xlaCompiledIn = true
