package mcpserver

// Workaround for mcp-go v1.2.1 decoding JSON-RPC request ids into float64.
//
// MCPServer.HandleMessage decodes a message's id into `any` (and mcp.RequestId
// keeps that value), so a numeric id becomes a float64 and is written back as
// Go formats that float: 18446744073709551617 comes back as
// 18446744073709552000, 1.50 as 1.5, 1e3 as 1000. JSON-RPC requires the
// response to carry the request's id exactly.
//
// The transports (stdio's readLines, HTTP's onTheWire) swap such an id, on the
// way in, for a string that carries its text; on the way out (outbound) the
// string becomes the number again, byte for byte. Ids that survive a float64
// (small integers, which is what clients send) are left alone.
//
// It can go when mcp-go keeps ids exact (json.Number or json.RawMessage):
// delete this file, make exactIDs and restoreExactIDs return their argument,
// and TestRequestIDsAreEchoedExactly still passes.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
)

// exactIDPrefix starts the string that stands for a numeric id. The random
// part keeps a client's own string ids from ever being taken for one.
var exactIDPrefix = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "hf-endpoints-mcp:exact-id:" + hex.EncodeToString(b) + ":"
}()

// exactIDOnTheWire finds the stand-in as a message's id, as mcp-go writes it.
var exactIDOnTheWire = regexp.MustCompile(`"id":"` + regexp.QuoteMeta(exactIDPrefix) + `(-?[0-9][0-9.eE+-]*)"`)

// exactIDs returns msg with a numeric id that a float64 would change swapped
// for its stand-in; msg itself (the same slice) when there is none.
func exactIDs(msg []byte) []byte {
	if !bytes.Contains(msg, []byte(`"id"`)) {
		return msg
	}
	var id []byte
	if v, ok := peekMembers(msg, "id"); ok {
		id = v[0]
	} else {
		var head struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(msg, &head) != nil {
			return msg
		}
		id = head.ID
	}
	if len(id) == 0 || !(id[0] == '-' || id[0] >= '0' && id[0] <= '9') || survivesFloat(id) {
		return msg
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(msg, &fields) != nil {
		return msg
	}
	stand, err := json.Marshal(exactIDPrefix + string(id))
	if err != nil {
		return msg
	}
	fields["id"] = stand
	out, err := json.Marshal(fields)
	if err != nil {
		return msg
	}
	if bytes.HasSuffix(msg, []byte("\n")) {
		out = append(out, '\n')
	}
	return out
}

// survivesFloat reports whether a JSON number is written back unchanged after
// a round trip through float64.
func survivesFloat(num json.RawMessage) bool {
	if len(num) <= 15 && allDigits(num) {
		return true // every integer below 10^15 is a float64, written back as it was
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return false
	}
	back, err := json.Marshal(f)
	return err == nil && bytes.Equal(back, num)
}

func allDigits(b []byte) bool {
	for i, c := range b {
		if c < '0' || c > '9' || c == '0' && i == 0 && len(b) > 1 {
			return false
		}
	}
	return len(b) > 0
}

// restoreExactIDs turns stand-ins back into the numbers they stand for.
func restoreExactIDs(p []byte) []byte {
	if !bytes.Contains(p, []byte(exactIDPrefix)) {
		return p
	}
	return exactIDOnTheWire.ReplaceAll(p, []byte(`"id":$1`))
}
