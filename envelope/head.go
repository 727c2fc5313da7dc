package envelope

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// head is a record without its payload: what a pass over the log's names
// and versions decodes.
type head struct {
	Format  uint8  `cbor:"0,keyasint"`
	Name    string `cbor:"1,keyasint"`
	Version uint32 `cbor:"2,keyasint"`
}

var headMode cbor.DecMode

func init() {
	var err error
	headMode, err = cbor.DecOptions{
		MaxNestedLevels: 32, MaxArrayElements: 1 << 20, MaxMapPairs: 1 << 20,
		IndefLength: cbor.IndefLengthForbidden, UTF8: cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// DecodeHead decodes only the command name and version of the log value
// stored at seq (the payload and the rest are skipped, not built): a cheap
// pass over a whole log's commands.
func DecodeHead(seq uint64, data []byte) (name string, version uint32, err error) {
	var h head
	if err := headMode.Unmarshal(data, &h); err != nil {
		return "", 0, fmt.Errorf("envelope: log entry %d: %w", seq, err)
	}
	if h.Format != formatVersion {
		return "", 0, fmt.Errorf("envelope: log entry %d: format version %d, this build reads %d", seq, h.Format, formatVersion)
	}
	if h.Name == "" {
		return "", 0, fmt.Errorf("envelope: log entry %d: no command name", seq)
	}
	return h.Name, h.Version, nil
}
