// Package e2e holds sekisho's end-to-end tests: the real server on
// httptest, a real relying party (zitadel/oidc rp) and a cookie-jar
// browser, against SQLite and PostgreSQL.
package e2e
