// Independent check of a garita ledger with Go's golang.org/x/mod/sumdb/{note,tlog}: verifies the checkpoint
// signature, reads the C2SP tiles through tlog.TileHashReader (which authenticates every tile against the tree
// hash), recomputes the root, checks every entry bundle against the level-0 hashes, proves inclusion of sampled
// leaves and consistency with an older checkpoint, and checks a C2SP tlog-proof file written by garita.
//
// Usage: go run main.go DATA_DIR VKEY OLD_CHECKPOINT_FILE PROOF_FILE PROOF_ENTRY_FILE
// Prints "interop ok" and exits 0 when everything verifies.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "interop: "+format+"\n", args...)
	os.Exit(1)
}

// c2spPath turns x/mod's tile path (tile/H/L/N or tile/H/data/N) into the C2SP one (tile/L/N, tile/entries/N).
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", height))
	if strings.HasPrefix(p, "data/") {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return height }

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := os.ReadFile(filepath.Join(d.dir, "log", c2spPath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// openCheckpoint verifies a checkpoint note and returns its tree.
func openCheckpoint(msg []byte, verifiers note.Verifiers) tlog.Tree {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint: too few lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root: %v", err)
	}
	return tlog.Tree{N: size, Hash: root}
}

func bundleEntries(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			fail("bundle: truncated length")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			fail("bundle: truncated entry")
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out
}

func main() {
	if len(os.Args) != 6 {
		fail("usage: main.go DATA_DIR VKEY OLD_CHECKPOINT PROOF PROOF_ENTRY")
	}
	dir, vkey := os.Args[1], os.Args[2]
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	verifiers := note.VerifierList(verifier)
	cp, err := os.ReadFile(filepath.Join(dir, "log", "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	tree := openCheckpoint(cp, verifiers)
	reader := tlog.TileHashReader(tree, dirTiles{dir})
	root, err := tlog.TreeHash(tree.N, reader)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if root != tree.Hash {
		fail("root from tiles %v != checkpoint %v", root, tree.Hash)
	}

	// Every bundle's entries must hash to the (authenticated) level-0 hashes; sample inclusion proofs.
	for start := int64(0); start < tree.N; start += 1 << height {
		w := tree.N - start
		if w > 1<<height {
			w = 1 << height
		}
		t := tlog.Tile{H: height, L: -1, N: start >> height, W: int(w)}
		data, err := os.ReadFile(filepath.Join(dir, "log", c2spPath(t)))
		if err != nil {
			fail("%v", err)
		}
		entries := bundleEntries(data)
		if int64(len(entries)) != w {
			fail("%s: %d entries, want %d", c2spPath(t), len(entries), w)
		}
		indexes := make([]int64, len(entries))
		for i := range entries {
			indexes[i] = tlog.StoredHashIndex(0, start+int64(i))
		}
		hashes, err := reader.ReadHashes(indexes)
		if err != nil {
			fail("leaves of %s: %v", c2spPath(t), err)
		}
		for i, e := range entries {
			idx := start + int64(i)
			if tlog.RecordHash(e) != hashes[i] {
				fail("%s: entry %d does not match its leaf hash", c2spPath(t), idx)
			}
			if idx%97 == 0 || idx == tree.N-1 {
				p, err := tlog.ProveRecord(tree.N, idx, reader)
				if err != nil {
					fail("prove %d: %v", idx, err)
				}
				if err := tlog.CheckRecord(p, tree.N, tree.Hash, idx, tlog.RecordHash(e)); err != nil {
					fail("inclusion of %d: %v", idx, err)
				}
			}
		}
	}

	// Consistency with an older checkpoint.
	oldMsg, err := os.ReadFile(os.Args[3])
	if err != nil {
		fail("%v", err)
	}
	old := openCheckpoint(oldMsg, verifiers)
	tp, err := tlog.ProveTree(tree.N, old.N, reader)
	if err != nil {
		fail("prove tree: %v", err)
	}
	if err := tlog.CheckTree(tp, tree.N, tree.Hash, old.N, old.Hash); err != nil {
		fail("consistency %d -> %d: %v", old.N, tree.N, err)
	}

	// A C2SP tlog-proof written by garita.
	proofText, err := os.ReadFile(os.Args[4])
	if err != nil {
		fail("%v", err)
	}
	entry, err := os.ReadFile(os.Args[5])
	if err != nil {
		fail("%v", err)
	}
	head, cpText, found := bytes.Cut(proofText, []byte("\n\n"))
	if !found {
		fail("tlog-proof: no empty line")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" || !strings.HasPrefix(lines[1], "index ") {
		fail("tlog-proof: bad header")
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "index "), 10, 64)
	if err != nil {
		fail("tlog-proof index: %v", err)
	}
	var rp tlog.RecordProof
	for _, l := range lines[2:] {
		raw, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(raw) != tlog.HashSize {
			fail("tlog-proof hash line %q", l)
		}
		var h tlog.Hash
		copy(h[:], raw)
		rp = append(rp, h)
	}
	pt := openCheckpoint(cpText, verifiers)
	if err := tlog.CheckRecord(rp, pt.N, pt.Hash, index, tlog.RecordHash(entry)); err != nil {
		fail("tlog-proof inclusion of %d: %v", index, err)
	}
	fmt.Printf("interop ok: size %d, consistent with %d, tlog-proof for leaf %d\n", tree.N, old.N, index)
}
