package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imagodb/imago/internal/probe"
)

// process is a server this harness started, with its log file.
type process struct {
	cmd *exec.Cmd
	log string
}

// start starts cmd, its output to logFile.
func start(logFile string, cmd *exec.Cmd) (*process, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	name := cmd.Path
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() { cmd.Wait(); f.Close() }()
	return &process{cmd: cmd, log: logFile}, nil
}

// stop stops the process: SIGTERM, then SIGKILL after 30 s.
func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(30 * time.Second)
	for p.cmd.ProcessState == nil && time.Now().Before(deadline) {
		if p.cmd.Process.Signal(syscall.Signal(0)) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.cmd.Process.Kill()
}

// logTail is the end of the process's log, for an error.
func (p *process) logTail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitFor calls ready until it succeeds, for up to a minute.
func waitFor(p *process, what string, ready func() error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within a minute: %v\n%s", what, err, p.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startImago serves app from this binary (see main) on free ports with
// durability always, its data directory in dir; pprofAddr gets Go's
// profiling endpoints.
func startImago(dir, app string) (p *process, httpAddr, pprofAddr string, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", "", err
	}
	var addrs [3]string
	for i := range addrs {
		if addrs[i], err = probe.FreeAddr(); err != nil {
			return nil, "", "", err
		}
	}
	p, err = start(filepath.Join(dir, "imago-"+app+".log"), exec.Command(self, "serve", "--app", app, "--data", filepath.Join(dir, "imago-"+app),
		"--durability", "always", "--http-addr", addrs[0], "--mysql-addr", addrs[1], "--pprof-addr", addrs[2]))
	if err != nil {
		return nil, "", "", err
	}
	err = waitFor(p, "imago", func() error {
		resp, err := http.Get("http://" + addrs[0] + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		p.stop()
		return nil, "", "", err
	}
	return p, addrs[0], addrs[2], nil
}

// startRedis starts Debian's redis-server on a free port with its data
// directory in dir, the append-only file on and fsynced before each reply
// (appendfsync always: Redis's durable mode, like Imago's always), no
// snapshots.
func startRedis(dir string) (*process, string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", errors.New("redis-server not found: apt-get install redis-server (make bench-peers installs it)")
	}
	addr, err := probe.FreeAddr()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	data := filepath.Join(dir, "redis")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, "", err
	}
	p, err := start(filepath.Join(dir, "redis.log"), exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--dir", data,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--protected-mode", "yes"))
	if err != nil {
		return nil, "", err
	}
	err = waitFor(p, "redis", func() error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.Write([]byte("PING\r\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "+PONG\r\n" {
			return fmt.Errorf("PING: %q %v", line, err)
		}
		return nil
	})
	if err != nil {
		p.stop()
		return nil, "", err
	}
	return p, addr, nil
}

// redisSet is an exchange of SET key-<n> value, answered +OK.
func redisSet(value string) exchange {
	tail := "\r\n$" + strconv.Itoa(len(value)) + "\r\n" + value + "\r\n"
	return func(c *conn, n int64) error {
		key := strconv.AppendInt([]byte("key-"), n, 10)
		b := append(c.buf[:0], "*3\r\n$3\r\nSET\r\n$"...)
		b = strconv.AppendInt(b, int64(len(key)), 10)
		b = append(b, "\r\n"...)
		b = append(b, key...)
		b = append(b, tail...)
		c.buf = b
		if _, err := c.Write(b); err != nil {
			return err
		}
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if string(line) != "+OK\r\n" {
			return fmt.Errorf("SET: %q", line)
		}
		return nil
	}
}

// postgres is a PostgreSQL server this harness started.
type postgres struct {
	*process
	port   string
	socket string
	bin    string              // the directory of initdb, postgres and pgbench
	as     *syscall.Credential // the postgres user's, when this runs as root
}

// pgBinDir finds Debian's PostgreSQL binaries (/usr/lib/postgresql/<v>/bin).
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pgbench")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("PostgreSQL not found: apt-get install postgresql (make bench-peers installs it)")
}

// startPostgres initializes a cluster in dir and starts it on a free port
// with synchronous_commit on and fsync on (the defaults, spelled out: a
// commit returns once its WAL is flushed). PostgreSQL refuses to run as
// root; as root it runs as the postgres user of Debian's package.
func startPostgres(dir string) (*postgres, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	pg := &postgres{bin: bin, socket: filepath.Join(dir, "pgsock")}
	for _, d := range []string{filepath.Join(dir, "pgdata"), pg.socket} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if os.Geteuid() == 0 {
		if pg.as, err = postgresUser(dir); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "pgdata")
	if out, err := pg.command("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	addr, err := probe.FreeAddr()
	if err != nil {
		return nil, err
	}
	_, pg.port, _ = net.SplitHostPort(addr)
	if pg.process, err = start(filepath.Join(dir, "postgres.log"), pg.command("postgres", "-D", data, "-p", pg.port, "-k", pg.socket,
		"-c", "listen_addresses=127.0.0.1", "-c", "synchronous_commit=on", "-c", "fsync=on", "-c", "max_connections=200",
		"-c", "shared_buffers=256MB")); err != nil {
		return nil, err
	}
	err = waitFor(pg.process, "postgres", func() error {
		return pg.command("pg_isready", "-h", pg.socket, "-p", pg.port).Run()
	})
	if err != nil {
		pg.stop()
		return nil, err
	}
	return pg, nil
}

// postgresUser is the credential of Debian's postgres user, made owner of
// the cluster's directories under dir (and dir's parents searchable).
func postgresUser(dir string) (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, PostgreSQL needs the postgres user of Debian's package: apt-get install postgresql")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range []string{filepath.Join(dir, "pgdata"), filepath.Join(dir, "pgsock")} {
		if err := os.Chown(d, uid, gid); err != nil {
			return nil, err
		}
	}
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, st.Mode().Perm()|0o001); err != nil {
				return nil, err
			}
		}
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// command is a program of PostgreSQL's bin directory (the server or a
// client) against this server, as the server's user.
func (pg *postgres) command(program string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(pg.bin, program), args...)
	if pg.as != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.as}
	}
	return cmd
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbench runs pgbench's built-in script (tpcb-like or simple-update)
// with clients connections for duration and returns its transactions/s.
func (pg *postgres) pgbench(script string, clients int, duration time.Duration) (float64, string, error) {
	args := []string{"-h", pg.socket, "-p", pg.port, "-U", "postgres", "-b", script, "-c", strconv.Itoa(clients), "-j", "2",
		"-T", strconv.Itoa(int(duration.Seconds())), "-n", "postgres"}
	out, err := pg.command("pgbench", args...).CombinedOutput()
	if err != nil {
		return 0, "", fmt.Errorf("pgbench %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, "", fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	return tps, "pgbench " + strings.Join(args, " "), nil
}
