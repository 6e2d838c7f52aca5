package op

import "net/url"

// originOf returns scheme://host of u, or u itself when it does not parse.
func originOf(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return u
	}
	return p.Scheme + "://" + p.Host + "/"
}
