package sql_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// wireConn is a minimal MySQL client on a raw socket. It parses replies
// the way libmysqlclient does (go-sql-driver/mysql is more lenient), and
// lets tests hold connections that never finish the handshake.
type wireConn struct {
	net.Conn
	seq byte
}

// Capabilities a wireConn announces: those of the mysql command-line
// client that matter to the replies' format (CLIENT_SESSION_TRACK makes an
// OK packet's info a length-encoded string).
const (
	capLongPassword  = 1
	capConnectWithDB = 8
	capProtocol41    = 0x200
	capTransactions  = 0x2000
	capSecureConn    = 0x8000
	capPluginAuth    = 0x80000
	capSessionTrack  = 1 << 23
)

// dialWire connects; the greeting is left unread.
func dialWire(t *testing.T, addr string) *wireConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return &wireConn{Conn: c}
}

func (w *wireConn) readPacket() ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(w, h[:]); err != nil {
		return nil, err
	}
	p := make([]byte, int(h[0])|int(h[1])<<8|int(h[2])<<16)
	w.seq = h[3] + 1
	_, err := io.ReadFull(w, p)
	return p, err
}

func (w *wireConn) writePacket(p []byte) error {
	h := []byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), w.seq}
	w.seq++
	_, err := w.Write(append(h, p...))
	return err
}

// login reads the greeting and logs in as user without a password.
func (w *wireConn) login(user, db string) error {
	greeting, err := w.readPacket()
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if greeting[0] == 0xff {
		return wireError(greeting)
	}
	p := binary.LittleEndian.AppendUint32(nil, capLongPassword|capConnectWithDB|capProtocol41|capTransactions|capSecureConn|capPluginAuth|capSessionTrack)
	p = binary.LittleEndian.AppendUint32(p, 1<<24)
	p = append(p, 33)
	p = append(p, make([]byte, 23)...)
	p = append(p, user...)
	p = append(p, 0, 0) // end of user, empty auth response
	p = append(p, db...)
	p = append(p, 0)
	p = append(p, "mysql_native_password\x00"...)
	if err := w.writePacket(p); err != nil {
		return err
	}
	reply, err := w.readPacket()
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if reply[0] != 0 {
		return wireError(reply)
	}
	return nil
}

// wireErr is an error packet.
type wireErr struct {
	code uint16
	msg  string
}

func (e *wireErr) Error() string { return fmt.Sprintf("error %d: %s", e.code, e.msg) }

func wireError(p []byte) error {
	if len(p) < 3 || p[0] != 0xff {
		return fmt.Errorf("not an error packet: %q", p)
	}
	e := &wireErr{code: binary.LittleEndian.Uint16(p[1:])}
	if len(p) > 9 && p[3] == '#' {
		e.msg = string(p[9:])
	} else {
		e.msg = string(p[3:])
	}
	return e
}

func isWireError(err error, code uint16) bool {
	var e *wireErr
	return errors.As(err, &e) && e.code == code
}

// lenenc reads a length-encoded integer at p[i:].
func lenenc(p []byte, i int) (uint64, int, error) {
	if i >= len(p) {
		return 0, i, errors.New("malformed packet: truncated length")
	}
	switch b := p[i]; {
	case b < 0xfb:
		return uint64(b), i + 1, nil
	case b == 0xfc && i+3 <= len(p):
		return uint64(binary.LittleEndian.Uint16(p[i+1:])), i + 3, nil
	case b == 0xfd && i+4 <= len(p):
		return uint64(p[i+1]) | uint64(p[i+2])<<8 | uint64(p[i+3])<<16, i + 4, nil
	case b == 0xfe && i+9 <= len(p):
		return binary.LittleEndian.Uint64(p[i+1:]), i + 9, nil
	}
	return 0, i, fmt.Errorf("malformed packet: length byte %#x", p[i])
}

// query runs q (COM_QUERY) and returns its rows (NULL as "NULL"); an OK
// packet must be well formed, as libmysqlclient checks it.
func (w *wireConn) query(q string) ([][]string, error) {
	w.seq = 0
	if err := w.writePacket(append([]byte{3}, q...)); err != nil {
		return nil, err
	}
	p, err := w.readPacket()
	if err != nil {
		return nil, err
	}
	switch p[0] {
	case 0xff:
		return nil, wireError(p)
	case 0:
		return nil, checkOK(p)
	}
	cols, _, err := lenenc(p, 0)
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i <= cols; i++ { // the columns, then an EOF packet
		if _, err := w.readPacket(); err != nil {
			return nil, err
		}
	}
	var rows [][]string
	for {
		p, err := w.readPacket()
		if err != nil {
			return nil, err
		}
		if p[0] == 0xfe && len(p) < 9 {
			return rows, nil
		}
		if p[0] == 0xff {
			return rows, wireError(p)
		}
		var row []string
		for i := 0; i < len(p); {
			if p[i] == 0xfb {
				row, i = append(row, "NULL"), i+1
				continue
			}
			n, j, err := lenenc(p, i)
			if err != nil || j+int(n) > len(p) {
				return rows, fmt.Errorf("malformed row %q", p)
			}
			row, i = append(row, string(p[j:j+int(n)])), j+int(n)
		}
		rows = append(rows, row)
	}
}

// checkOK parses an OK packet as a client with CLIENT_SESSION_TRACK does.
func checkOK(p []byte) error {
	i := 1
	var err error
	for range 2 { // affected rows, last insert id
		if _, i, err = lenenc(p, i); err != nil {
			return err
		}
	}
	i += 4 // status, warnings
	if i > len(p) {
		return errors.New("malformed packet: short OK")
	}
	if i < len(p) {
		n, j, err := lenenc(p, i)
		if err != nil || j+int(n) > len(p) {
			return fmt.Errorf("malformed packet: OK info %q", p[i:])
		}
	}
	return nil
}
