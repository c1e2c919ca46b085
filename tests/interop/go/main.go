// Command interop checks a ProofDesk log with the Go checksum database's own packages,
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog, which we did not write:
// the checkpoint's signature, the tiles (through tlog.TileHashReader, which checks every
// tile against the signed root), the entry bundles, and the server's inclusion and
// consistency proofs. Usage: interop <tiles prefix URL> <older checkpoint size>.
// It prints one line per check and exits 1 at the first that fails.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var prefix string

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func get(path string) []byte {
	resp, err := http.Get(prefix + path)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		fail("GET %s: status %d %v", path, resp.StatusCode, err)
	}
	return body
}

// checkpoint verifies a signed checkpoint and returns its size and root.
func checkpoint(path string, verifier note.Verifier) (int64, tlog.Hash, string) {
	n, err := note.Open(get(path), note.VerifierList(verifier))
	if err != nil {
		fail("note.Open %s: %v", path, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint %s: bad body %q", path, n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint %s: bad size %q", path, lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		fail("checkpoint %s: bad root %q", path, lines[2])
	}
	var root tlog.Hash
	copy(root[:], raw)
	return size, root, fmt.Sprintf("%d signatures verified, %d by other keys", len(n.Sigs), len(n.UnverifiedSigs))
}

// tiles reads C2SP tlog-tiles: Go's paths carry the height ("tile/8/…"), C2SP's do not.
type tiles struct{}

func (tiles) Height() int { return 8 }

func (tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = get("/tile/" + strings.TrimPrefix(t.Path(), "tile/8/"))
	}
	return out, nil
}

func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func hashes(path, key string) []tlog.Hash {
	var body map[string]interface{}
	if err := json.Unmarshal(get(path), &body); err != nil {
		fail("%s: %v", path, err)
	}
	list, _ := body[key].([]interface{})
	out := make([]tlog.Hash, len(list))
	for i, item := range list {
		text, _ := item.(string)
		raw, err := hex.DecodeString(text)
		if err != nil || len(raw) != tlog.HashSize {
			fail("%s: bad hash %q", path, text)
		}
		copy(out[i][:], raw)
	}
	return out
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: interop <tiles prefix URL> <older size>")
	}
	prefix = strings.TrimSuffix(os.Args[1], "/")
	old, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil {
		fail("older size %q", os.Args[2])
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(get("/key"))))
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	size, root, sigs := checkpoint("/checkpoint", verifier)
	fmt.Printf("ok checkpoint size %d: %s\n", size, sigs)

	reader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tiles{})
	treeHash, err := tlog.TreeHash(size, reader)
	if err != nil || treeHash != root {
		fail("tlog.TreeHash over tiles: %v (%v, want %v)", err, treeHash, root)
	}
	fmt.Printf("ok tiles give the signed root %v\n", root)

	for start := int64(0); start < size; start += 256 {
		path := "/tile/entries/" + strings.TrimPrefix(tlog.Tile{H: 8, L: 0, N: start / 256, W: 256}.Path(), "tile/8/0/")
		if size-start < 256 {
			path += fmt.Sprintf(".p/%d", size-start)
		}
		bundle := get(path)
		for i := start; len(bundle) > 0; i++ {
			if len(bundle) < 2 || len(bundle) < 2+int(binary.BigEndian.Uint16(bundle)) {
				fail("%s: truncated entry %d", path, i)
			}
			n := int(binary.BigEndian.Uint16(bundle))
			leaf := tlog.RecordHash(bundle[2 : 2+n])
			bundle = bundle[2+n:]
			stored, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
			if err != nil || stored[0] != leaf {
				fail("entry %d does not hash to its tile hash: %v", i, err)
			}
		}
	}
	fmt.Printf("ok %d entries hash to their level-0 tile hashes\n", size)

	for _, index := range []int64{0, size / 2, size - 1} {
		leaf, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
		if err != nil {
			fail("leaf %d: %v", index, err)
		}
		ours := tlog.RecordProof(hashes(fmt.Sprintf("/proof/inclusion?index=%d&size=%d", index, size), "hashes"))
		if err := tlog.CheckRecord(ours, size, root, index, leaf[0]); err != nil {
			fail("our inclusion proof of %d in %d: %v", index, size, err)
		}
		theirs, err := tlog.ProveRecord(size, index, reader)
		if err != nil || len(theirs) != len(ours) {
			fail("tlog.ProveRecord %d: %v", index, err)
		}
		for i := range ours {
			if ours[i] != theirs[i] {
				fail("inclusion proof of %d differs from tlog's at %d", index, i)
			}
		}
	}
	fmt.Println("ok inclusion proofs verify with tlog.CheckRecord and equal tlog.ProveRecord")

	oldSize, oldRoot, _ := checkpoint(fmt.Sprintf("/checkpoints/%d", old), verifier)
	if oldSize != old {
		fail("checkpoint of size %d has size %d", old, oldSize)
	}
	ours := tlog.TreeProof(hashes(fmt.Sprintf("/proof/consistency?first=%d&second=%d", old, size), "hashes"))
	if err := tlog.CheckTree(ours, size, root, old, oldRoot); err != nil {
		fail("our consistency proof %d → %d: %v", old, size, err)
	}
	theirs, err := tlog.ProveTree(size, old, reader)
	if err != nil || tlog.CheckTree(theirs, size, root, old, oldRoot) != nil {
		fail("tlog.ProveTree %d → %d: %v", old, size, err)
	}
	fmt.Printf("ok consistency proof %d → %d verifies with tlog.CheckTree\n", old, size)
}
