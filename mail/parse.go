package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
)

// maxParseDepth bounds the nesting of multipart bodies Parse follows.
const maxParseDepth = 4

// Parsed is a message read back by Parse.
type Parsed struct {
	// Header holds the raw (still encoded) header fields.
	Header netmail.Header
	// Subject is the decoded subject.
	Subject string
	// Text and HTML are the decoded first text/plain and text/html parts,
	// with "\n" line endings; either may be empty.
	Text, HTML string
}

// Parse reads a message such as one produced by Message.Bytes: it decodes
// the subject (RFC 2047) and the text/plain and text/html parts
// (quoted-printable or base64), following nested multipart bodies. It is
// used by DevSender and the mailtest server; it does not convert charsets
// other than UTF-8 and US-ASCII.
func Parse(raw []byte) (Parsed, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Parsed{}, fmt.Errorf("mail: parse: %w", err)
	}
	p := Parsed{Header: msg.Header}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Parsed{}, fmt.Errorf("mail: parse subject: %w", err)
	}
	p.Subject = subject
	err = p.readEntity(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	if err != nil {
		return Parsed{}, fmt.Errorf("mail: parse body: %w", err)
	}
	return p, nil
}

// readEntity stores the text parts found in one MIME entity.
func (p *Parsed) readEntity(contentType, cte string, body io.Reader, depth int) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxParseDepth {
			return errors.New("multipart nesting is too deep")
		}
		r := multipart.NewReader(body, params["boundary"])
		for {
			part, err := r.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			err = p.readEntity(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, depth+1)
			if err != nil {
				return err
			}
		}
	}
	var target *string
	switch mediaType {
	case "text/plain":
		target = &p.Text
	case "text/html":
		target = &p.HTML
	default:
		return nil
	}
	if *target != "" {
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s part: %w", mediaType, err)
	}
	*target = strings.ReplaceAll(string(data), "\r\n", "\n")
	return nil
}
