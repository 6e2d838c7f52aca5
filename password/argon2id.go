package password

import (
	"encoding/binary"
	"math/bits"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// argon2id as RFC 9106 defines it (version 0x13), written here so that the
// 1 KiB blocks of a hash live in memory the Hasher keeps for its next hash:
// golang.org/x/crypto/argon2 allocates MemoryKiB of fresh memory per hash,
// which the runtime zeroes (or faults in from the system) every time and
// the collector then has to reclaim, so the process grew by up to twice
// the memory of the hashes in flight. The output is identical to
// x/crypto's (TestArgon2idMatchesXCrypto, and the RFC's test vector).

const (
	argonVersion   = 0x13
	argonTypeID    = 2
	argonSyncSlots = 4   // slices per pass
	blockWords     = 128 // 64-bit words in a 1 KiB block
)

type block [blockWords]uint64

const blockBytes = 8 * blockWords

// argonMemory is the number of blocks a hash with memKiB and lanes uses:
// a multiple of 4 × lanes, at least 8 × lanes (RFC 9106, 3.2 step 3).
func argonMemory(memKiB uint32, lanes uint8) uint32 {
	p := uint32(lanes)
	m := memKiB / (argonSyncSlots * p) * (argonSyncSlots * p)
	if m < 2*argonSyncSlots*p {
		m = 2 * argonSyncSlots * p
	}
	return m
}

// argon2idKey derives a keyLen-byte argon2id key of pw and salt (and the
// optional secret and associated data of RFC 9106, which password hashes
// do not use) with t passes over memKiB KiB in lanes lanes, in mem, which
// must hold argonMemory(memKiB, lanes) blocks. mem need not be zeroed:
// every block is written before it is read.
func argon2idKey(mem []block, pw, salt, secret, ad []byte, t, memKiB uint32, lanes uint8, keyLen uint32) []byte {
	if t < 1 || lanes < 1 {
		panic("argon2id: t and lanes must be at least 1")
	}
	m := argonMemory(memKiB, lanes)
	mem = mem[:m]
	h0 := argonH0(pw, salt, secret, ad, t, memKiB, lanes, keyLen)
	q := m / uint32(lanes) // blocks per lane
	var seed [blake2b.Size + 8]byte
	copy(seed[:], h0[:])
	var buf [1024]byte
	for l := uint32(0); l < uint32(lanes); l++ {
		binary.LittleEndian.PutUint32(seed[blake2b.Size+4:], l)
		for j := uint32(0); j < 2; j++ {
			binary.LittleEndian.PutUint32(seed[blake2b.Size:], j)
			hashLong(buf[:], seed[:])
			blockFromBytes(&mem[l*q+j], buf[:])
		}
	}
	f := filler{mem: mem, lanes: uint32(lanes), q: q, seg: q / argonSyncSlots, passes: t, total: m}
	for pass := uint32(0); pass < t; pass++ {
		for slice := uint32(0); slice < argonSyncSlots; slice++ {
			if lanes == 1 {
				f.segment(pass, slice, 0)
				continue
			}
			// Lanes of one slice read only their own current segment and the
			// others' finished ones, so they run in parallel.
			var wg sync.WaitGroup
			for l := uint32(0); l < uint32(lanes); l++ {
				wg.Go(func() { f.segment(pass, slice, l) })
			}
			wg.Wait()
		}
	}
	final := mem[q-1]
	for l := uint32(1); l < uint32(lanes); l++ {
		xorInto(&final, &mem[l*q+q-1])
	}
	blockToBytes(buf[:], &final)
	out := make([]byte, keyLen)
	hashLong(out, buf[:])
	return out
}

// argonH0 is the pre-hashing digest H0 of RFC 9106, 3.2 step 1.
func argonH0(pw, salt, secret, ad []byte, t, memKiB uint32, lanes uint8, keyLen uint32) [blake2b.Size]byte {
	h, _ := blake2b.New512(nil) // never fails without a key
	var w [4]byte
	put := func(v uint32) {
		binary.LittleEndian.PutUint32(w[:], v)
		h.Write(w[:])
	}
	for _, v := range []uint32{uint32(lanes), keyLen, memKiB, t, argonVersion, argonTypeID} {
		put(v)
	}
	for _, b := range [][]byte{pw, salt, secret, ad} {
		put(uint32(len(b)))
		h.Write(b)
	}
	var out [blake2b.Size]byte
	h.Sum(out[:0])
	return out
}

// hashLong is H' of RFC 9106, 3.3: a hash of in of len(out) bytes.
func hashLong(out, in []byte) {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(out)))
	if len(out) <= blake2b.Size {
		h, _ := blake2b.New(len(out), nil)
		h.Write(n[:])
		h.Write(in)
		h.Sum(out[:0])
		return
	}
	h, _ := blake2b.New512(nil)
	h.Write(n[:])
	h.Write(in)
	var v [blake2b.Size]byte
	h.Sum(v[:0])
	// r = ceil(len/32) - 2 full digests give 32 bytes each; the last one
	// gives the rest.
	r := (len(out)+31)/32 - 2
	pos := 0
	for i := 1; i < r; i++ {
		pos += copy(out[pos:], v[:32])
		v = blake2b.Sum512(v[:])
	}
	pos += copy(out[pos:], v[:32])
	h, _ = blake2b.New(len(out)-pos, nil)
	h.Write(v[:])
	h.Sum(out[pos:pos])
}

// filler computes the blocks of the passes.
type filler struct {
	mem                          []block
	lanes, q, seg, passes, total uint32
}

// segment fills the segment of slice of lane in pass.
func (f *filler) segment(pass, slice, lane uint32) {
	// argon2id takes reference positions independently of the data in the
	// first half of the first pass, from the data after that.
	independent := pass == 0 && slice < argonSyncSlots/2
	var addr, in, zero block
	var scratch [2]block
	if independent {
		in[0], in[1], in[2], in[3], in[4], in[5] = uint64(pass), uint64(lane), uint64(slice), uint64(f.total), uint64(f.passes), argonTypeID
	}
	first := uint32(0)
	if pass == 0 && slice == 0 {
		first = 2 // the lane's first two blocks come from H0
	}
	base := lane * f.q
	for i := first; i < f.seg; i++ {
		col := slice*f.seg + i // column of the block in its lane
		prev := base + col - 1
		if col == 0 {
			prev = base + f.q - 1
		}
		var rnd uint64
		if independent {
			if i == first || i%blockWords == 0 {
				in[6]++
				compress(&addr, &zero, &in, false, &scratch)
				compress(&addr, &zero, &addr, false, &scratch)
			}
			rnd = addr[i%blockWords]
		} else {
			rnd = f.mem[prev][0]
		}
		ref := f.reference(rnd, pass, slice, lane, i)
		compress(&f.mem[base+col], &f.mem[prev], &f.mem[ref], pass > 0, &scratch)
	}
}

// reference maps the pseudo-random rnd of the block at index i of the
// segment (pass, slice, lane) to the block it is compressed with (RFC
// 9106, 3.4.1.2).
func (f *filler) reference(rnd uint64, pass, slice, lane, i uint32) uint32 {
	refLane := uint32(rnd>>32) % f.lanes
	if pass == 0 && slice == 0 {
		refLane = lane
	}
	var area uint32
	same := refLane == lane
	switch {
	case pass == 0 && same:
		area = slice*f.seg + i - 1
	case pass == 0:
		area = slice * f.seg
	case same:
		area = f.q - f.seg + i - 1
	default:
		area = f.q - f.seg
	}
	if !same && i == 0 {
		area--
	}
	x := (rnd & 0xffffffff) * (rnd & 0xffffffff) >> 32
	y := uint64(area) * x >> 32
	rel := uint64(area) - 1 - y
	var start uint64
	if pass > 0 && slice != argonSyncSlots-1 {
		start = uint64((slice + 1) * f.seg)
	}
	return refLane*f.q + uint32((start+rel)%uint64(f.q))
}

// compress sets out to G(x, y), or XORs G(x, y) into it (later passes),
// with t as scratch. out may be x or y.
func compress(out, x, y *block, xor bool, t *[2]block) {
	r, z := &t[0], &t[1]
	for i := 0; i < blockWords; i += 8 {
		a, b := (*[8]uint64)(x[i:]), (*[8]uint64)(y[i:])
		rr, zz := (*[8]uint64)(r[i:]), (*[8]uint64)(z[i:])
		for k := range 8 {
			v := a[k] ^ b[k]
			rr[k], zz[k] = v, v
		}
	}
	for row := 0; row < 8; row++ {
		permute((*[16]uint64)(z[16*row:]))
	}
	for col := 0; col < 16; col += 2 {
		permuteColumn((*[114]uint64)(z[col:]))
	}
	for i := 0; i < blockWords; i += 8 {
		o, rr, zz := (*[8]uint64)(out[i:]), (*[8]uint64)(r[i:]), (*[8]uint64)(z[i:])
		if xor {
			for k := range 8 {
				o[k] ^= zz[k] ^ rr[k]
			}
			continue
		}
		for k := range 8 {
			o[k] = zz[k] ^ rr[k]
		}
	}
}

// permute is the permutation P of RFC 9106, 3.6, on 16 words: GB (BLAKE2b's
// G with a multiplication of the low halves added to each sum) on the
// columns, then on the diagonals of the 4×4 words. GB is written out
// eight times because the compiler does not inline it.
func permute(b *[16]uint64) {
	v0, v1, v2, v3, v4, v5, v6, v7 := b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
	v8, v9, v10, v11, v12, v13, v14, v15 := b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -32)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -24)
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -16)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -63)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -32)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -24)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -16)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -63)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -32)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -24)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -16)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -63)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -32)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -24)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -16)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -63)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -32)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -24)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -16)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -63)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -32)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -24)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -16)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -63)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -32)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -24)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -16)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -63)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -32)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -24)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -16)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -63)
	b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7] = v0, v1, v2, v3, v4, v5, v6, v7
	b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15] = v8, v9, v10, v11, v12, v13, v14, v15
}

// permuteColumn is permute on a column of a block: the 16-byte pairs at
// the same place of its eight rows, which start at c[0], c[16], ... c[112].
// It repeats permute with other indexes on purpose: one function taking
// the distance between pairs, or gathering a column into 16 words first,
// made a hash 5-10 % slower.
func permuteColumn(c *[114]uint64) {
	v0, v1, v2, v3, v4, v5, v6, v7 := c[0], c[1], c[16], c[17], c[32], c[33], c[48], c[49]
	v8, v9, v10, v11, v12, v13, v14, v15 := c[64], c[65], c[80], c[81], c[96], c[97], c[112], c[113]
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -32)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -24)
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -16)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -63)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -32)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -24)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -16)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -63)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -32)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -24)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -16)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -63)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -32)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -24)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -16)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -63)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -32)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -24)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -16)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -63)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -32)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -24)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -16)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -63)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -32)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -24)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -16)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -63)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -32)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -24)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -16)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -63)
	c[0], c[1], c[16], c[17], c[32], c[33], c[48], c[49] = v0, v1, v2, v3, v4, v5, v6, v7
	c[64], c[65], c[80], c[81], c[96], c[97], c[112], c[113] = v8, v9, v10, v11, v12, v13, v14, v15
}

func xorInto(dst, src *block) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

func blockFromBytes(b *block, in []byte) {
	for i := range b {
		b[i] = binary.LittleEndian.Uint64(in[8*i:])
	}
}

func blockToBytes(out []byte, b *block) {
	for i, v := range b {
		binary.LittleEndian.PutUint64(out[8*i:], v)
	}
}
