package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/pressly/goose/v3"
)

// renormalizeVersion is the goose version of the Go migration that puts
// the emails stored before the one normaliser (package identifier) into
// their canonical form.
const renormalizeVersion = 12

// renormalizeEmails is migration 12: every user's email and email_lower
// are rewritten in their canonical form (full-width and other look-alike
// forms folded, the domain in lower-case ASCII). When two accounts would
// then share an address, nothing is changed and the migration stops with
// the list of them: the operator gives one of each group another address
// or deletes it, in the database (README, Upgrading), and migrates again.
func renormalizeEmails(dialect string) *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT id, email, email_lower FROM users ORDER BY id")
		if err != nil {
			return err
		}
		type user struct{ id, email, key, newEmail, newKey string }
		var users []user
		for rows.Next() {
			var u user
			if err := rows.Scan(&u.id, &u.email, &u.key); err != nil {
				rows.Close()
				return err
			}
			u.newEmail, u.newKey = canonicalEmail(u.email), emailKey(u.email)
			users = append(users, u)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		byKey := map[string][]string{}
		for _, u := range users {
			byKey[u.newKey] = append(byKey[u.newKey], u.id)
		}
		var clashes []string
		for _, ids := range byKey {
			if len(ids) > 1 {
				clashes = append(clashes, strings.Join(ids, ", "))
			}
		}
		if len(clashes) > 0 {
			slices.Sort(clashes)
			return fmt.Errorf("these accounts would share an email address once addresses are normalised "+
				"(full-width and upper-case forms are the same address); give one of each group another address "+
				"or delete it in the database, then migrate again (README, \"Upgrading\"); user ids:\n  %s", strings.Join(clashes, "\n  "))
		}
		update := "UPDATE users SET email = ?, email_lower = ? WHERE id = ?"
		if dialect == DriverPostgres {
			update = "UPDATE users SET email = $1, email_lower = $2 WHERE id = $3"
		}
		// Clear the keys first, so that a swap of two keys cannot break
		// the unique index half-way.
		changed := slices.DeleteFunc(users, func(u user) bool { return u.email == u.newEmail && u.key == u.newKey })
		for _, u := range changed {
			if _, err := tx.ExecContext(ctx, update, u.email, "renormalizing:"+u.id, u.id); err != nil {
				return err
			}
		}
		for _, u := range changed {
			if _, err := tx.ExecContext(ctx, update, u.newEmail, u.newKey, u.id); err != nil {
				return err
			}
		}
		return nil
	}
	// Down keeps the canonical forms: they are valid before it too.
	return goose.NewGoMigration(renormalizeVersion, &goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: func(context.Context, *sql.Tx) error { return nil }})
}
