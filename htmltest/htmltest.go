// Package htmltest helps tests assert on HTML by element and attribute
// rather than by substring.
package htmltest

import (
	"strings"

	"golang.org/x/net/html"
)

// Find returns the nodes under root (root included) that match, in
// document order.
func Find(root *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	if match(root) {
		out = append(out, root)
	}
	for n := range root.Descendants() {
		if match(n) {
			out = append(out, n)
		}
	}
	return out
}

// IsTag reports whether n is an element named tag.
func IsTag(n *html.Node, tag string) bool {
	return n.Type == html.ElementNode && n.Data == tag
}

// HasAttr reports whether n carries the attribute key.
func HasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// Attr returns the value of n's attribute key, or "".
func Attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// Text returns the text content of n, trimmed.
func Text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.TrimSpace(b.String())
}
