package bench

import (
	"testing"
	"time"
)

func TestPerCPU(t *testing.T) {
	inProcess := scenario{ID: "S8", InProcess: true}
	served := scenario{ID: "S3a"}
	for _, tc := range []struct {
		name                 string
		mode                 dbCPUMode
		sc                   scenario
		wantServer, wantWith float64
	}{
		{"sqlite: the database is in the server", dbCPUInServer, served, 1000, 1000},
		{"postgres: server plus backends", dbCPUBackends, served, 1000, 400},
		{"postgres elsewhere: not measured", dbCPUUnknown, served, 1000, 0},
		{"in process: this process, no database", dbCPUBackends, inProcess, 500, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{dbCPU: tc.mode}
			// 2000 ok in 2 s of server, 4 s of this process, 3 s of backends.
			s, w := e.perCPU(tc.sc, 2000, 2*time.Second, 4*time.Second, 3*time.Second)
			if s != tc.wantServer || w != tc.wantWith {
				t.Errorf("perCPU = %v, %v; want %v, %v", s, w, tc.wantServer, tc.wantWith)
			}
		})
	}
	if got := dbCPUFor("sqlite", true); got != dbCPUInServer {
		t.Errorf("dbCPUFor(sqlite) = %v", got)
	}
	if got := dbCPUFor("postgres", true); got != dbCPUBackends {
		t.Errorf("dbCPUFor(postgres, local) = %v", got)
	}
	if got := dbCPUFor("postgres", false); got != dbCPUUnknown {
		t.Errorf("dbCPUFor(postgres, remote) = %v", got)
	}
}
