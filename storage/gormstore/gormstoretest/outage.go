package gormstoretest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/sekisho/sekisho/storage/gormstore"
)

// Outage is a TCP relay between a store and its PostgreSQL server that a
// test can cut, as a network failure or a database restart would.
type Outage struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

// NewPostgresWithOutage returns a migrated store on a fresh PostgreSQL
// database (see PostgresDSN) reached through a relay on 127.0.0.1, and
// the relay. Its DSN names the relay, so errors mention only it.
func NewPostgresWithOutage(t testing.TB) (*gormstore.Store, *Outage) {
	t.Helper()
	dsn := PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skipf("gormstoretest: the outage relay needs a URL-form %s", EnvDatabaseURL)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &Outage{ln: ln, target: u.Host}
	go o.accept()
	t.Cleanup(func() { o.Cut(); ln.Close() })
	u.Host = ln.Addr().String()
	return open(t, gormstore.Config{Driver: gormstore.DriverPostgres, DSN: u.String(), MaxOpenConns: TestPoolSize}), o
}

// Cut closes every relayed connection and refuses new ones until Restore.
func (o *Outage) Cut() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cut = true
	for _, c := range o.conns {
		c.Close()
	}
	o.conns = nil
}

// Restore relays new connections again.
func (o *Outage) Restore() {
	o.mu.Lock()
	o.cut = false
	o.mu.Unlock()
}

func (o *Outage) accept() {
	for {
		c, err := o.ln.Accept()
		if err != nil {
			return
		}
		o.mu.Lock()
		if o.cut {
			o.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", o.target)
		if err != nil {
			o.mu.Unlock()
			c.Close()
			continue
		}
		o.conns = append(o.conns, c, up)
		o.mu.Unlock()
		go relay(c, up)
		go relay(up, c)
	}
}

func relay(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}
