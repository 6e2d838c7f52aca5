// Package i18n holds the user-interface message catalogs of sekisho in
// English and Japanese, chooses a page language for a request, and formats
// messages.
//
// The catalogs are JSON files embedded from catalog/ (one flat object of
// key → message per language). Every key exists in every language; the
// package tests enforce it. Messages may contain fmt verbs; translations use
// explicit argument indexes ("%[1]s") when the word order differs.
package i18n
