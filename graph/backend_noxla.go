//go:build !cgo || noxla

package graph

const xlaCompiledIn = false
