// Package rpo holds what the whole repository ships with the binary: the
// changelog (the commands are under cmd/, the code under internal/).
package rpo

import _ "embed"

// Changelog is CHANGELOG.md.
//
//go:embed CHANGELOG.md
var Changelog string
