// Package apidoc holds no code: its test checks the whole module's Go documentation — every package has a
// package comment saying what it is for, and every exported identifier has a doc comment (generated files
// excepted).
package apidoc
