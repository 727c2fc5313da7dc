// Package torture is Imago's standing attack: end-to-end tests that drive
// the real binary (built once in TestMain) through crashes, damaged and lost
// files, a full disk and hostile clients, and check after each blow what
// Imago promises (README "Durability modes", "Checkpoints and restart",
// "Operating"; torture/README.md has the list).
//
// It checks, against the binary and its data directory:
//   - a SIGKILL under concurrent HTTP writers loses no acknowledged command
//     in durability always and interval (none: the loss is reported), seqs
//     have no gaps, no seq is reused for another command, idempotency keys
//     survive, and the recovered image equals a replay of the log;
//   - a lost log tail (a cut WAL file, a log directory restored from an old
//     copy) is refused at start naming the missing seqs and the repair, and
//     after the repair no checkpoint past the log's end is ever loaded;
//   - a flipped byte in a WAL file or a table refuses the start naming the
//     file (or starts with every acknowledged command), and a flipped byte
//     in a checkpoint skips it with a warning and recovers everything;
//   - a full disk fails writes with 503 (fail-stop) losing nothing
//     acknowledged, and fails a start with a message naming the disk;
//   - hostile MySQL and HTTP clients are refused without hurting others.
//
// The tests skip unless IMAGO_TORTURE=1, so that go test ./... stays fast;
// TORTURE_SCALE=full runs them at the size the README's figures come from
// (`make torture`, `make torture TORTURE_SCALE=full`).
package torture
