// Package ckpt reads and writes rpo's checkpoints: safetensors files (F32,
// F16, BF16, F64; with string metadata) written atomically, and model
// directories (model.yaml plus safetensors files).
package ckpt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/x448/float16"
)

// DType is a safetensors element type.
type DType string

// The element types rpo reads and writes.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	F64  DType = "F64"
	// integer and boolean tensors are read (as values) but never written:
	// checkpoints of other tools carry them (position_ids buffers)
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	BOOL DType = "BOOL"
)

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16, I16:
		return 2
	case F64, I64:
		return 8
	case I32:
		return 4
	case I8, U8, BOOL:
		return 1
	}
	return 0
}

// maxHeader bounds the JSON header (safetensors' own limit is 100 MB).
const maxHeader = 100 << 20

// Tensor is one named tensor of a file: element type, shape and raw
// little-endian bytes.
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// File is the content of a safetensors file.
type File struct {
	Metadata map[string]string
	Tensors  map[string]Tensor
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Read reads and validates a safetensors file. Errors name the file and
// what is wrong with it.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ckpt: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("ckpt: %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes a safetensors image. It never panics on bad input: every
// inconsistency (short file, header length beyond the file, bad JSON,
// unknown dtype, shape/offset mismatch, overlapping or uncovered bytes) is
// an error.
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length (truncated or not safetensors)", len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > maxHeader {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit (corrupt or not safetensors)", n, maxHeader)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes after it (truncated)", n, len(data)-8)
	}
	header := data[8 : 8+n]
	body := data[8+n:]
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(header))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("header is not a JSON object: %v", err)
	}
	f := &File{Metadata: map[string]string{}, Tensors: map[string]Tensor{}}
	type span struct {
		begin, end int64
		name       string
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ is not a map of strings: %v", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %q: bad header entry: %v", name, err)
		}
		size := e.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("tensor %q: dtype %q is not one of F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL", name, e.DType)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, e.Shape)
			}
			if d > 0 && count > math.MaxInt64/int64(d) {
				return nil, fmt.Errorf("tensor %q: shape %v overflows", name, e.Shape)
			}
			count *= int64(d)
		}
		b, en := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || en < b || en > int64(len(body)) {
			return nil, fmt.Errorf("tensor %q: data offsets [%d, %d] outside the %d data bytes (truncated?)", name, b, en, len(body))
		}
		if count > math.MaxInt64/int64(size) || en-b != count*int64(size) {
			return nil, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, offsets give %d", name, e.Shape, e.DType, count*int64(size), en-b)
		}
		f.Tensors[name] = Tensor{DType: e.DType, Shape: e.Shape, Data: body[b:en]}
		spans = append(spans, span{b, en, name})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	var pos int64
	for _, s := range spans {
		if s.begin != pos {
			if s.begin < pos {
				return nil, fmt.Errorf("tensor %q overlaps the tensor before it", s.name)
			}
			return nil, fmt.Errorf("bytes %d to %d belong to no tensor", pos, s.begin)
		}
		pos = s.end
	}
	if pos != int64(len(body)) {
		return nil, fmt.Errorf("%d trailing bytes after the last tensor", int64(len(body))-pos)
	}
	return f, nil
}

// Float32s decodes the tensor's elements to float32.
func (t Tensor) Float32s() []float32 {
	out := make([]float32, len(t.Data)/t.DType.Size())
	t.decodeFloat32(out)
	return out
}

// decodeFloat32 decodes the elements into out (len(out) elements).
func (t Tensor) decodeFloat32(out []float32) {
	if t.DType == F32 {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return
	}
	for i := range out {
		switch t.DType {
		case F32:
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		case F64:
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:])))
		case F16:
			out[i] = float16.Frombits(binary.LittleEndian.Uint16(t.Data[2*i:])).Float32()
		case BF16:
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16)
		case I64:
			out[i] = float32(int64(binary.LittleEndian.Uint64(t.Data[8*i:])))
		case I32:
			out[i] = float32(int32(binary.LittleEndian.Uint32(t.Data[4*i:])))
		case I16:
			out[i] = float32(int16(binary.LittleEndian.Uint16(t.Data[2*i:])))
		case I8:
			out[i] = float32(int8(t.Data[i]))
		case U8, BOOL:
			out[i] = float32(t.Data[i])
		}
	}
}

// Float64s decodes the tensor's elements to float64 (exact for F64).
func (t Tensor) Float64s() []float64 {
	if t.DType == F64 {
		out := make([]float64, len(t.Data)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
		return out
	}
	f := t.Float32s()
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out
}

// EncodeFloat32 stores float32 values as F32.
func EncodeFloat32(shape []int, values []float32) Tensor {
	buf := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return Tensor{DType: F32, Shape: shape, Data: buf}
}

// Encode stores values (given as float64) in dtype d.
func Encode(d DType, shape []int, values []float64) Tensor {
	buf := make([]byte, len(values)*d.Size())
	for i, v := range values {
		switch d {
		case F32:
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(v)))
		case F64:
			binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(v))
		case F16:
			binary.LittleEndian.PutUint16(buf[2*i:], float16.Fromfloat32(float32(v)).Bits())
		case BF16:
			binary.LittleEndian.PutUint16(buf[2*i:], bfloat16(float32(v)))
		default:
			panic(fmt.Sprintf("ckpt: encode to unknown dtype %q", d))
		}
	}
	return Tensor{DType: d, Shape: append([]int(nil), shape...), Data: buf}
}

// bfloat16 rounds a float32 to bfloat16, to nearest even; NaN stays NaN.
func bfloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40 // quiet NaN
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// Marshal serialises f: header sorted by name, tensors in the same order,
// header padded with spaces to a multiple of 8 bytes.
func (f *File) Marshal() ([]byte, error) {
	header := map[string]any{}
	if len(f.Metadata) > 0 {
		header["__metadata__"] = f.Metadata
	}
	var off int64
	names := f.Names()
	for _, n := range names {
		t := f.Tensors[n]
		count := 1
		for _, d := range t.Shape {
			count *= d
		}
		if t.DType.Size() == 0 || len(t.Data) != count*t.DType.Size() {
			return nil, fmt.Errorf("ckpt: tensor %q: %d bytes for shape %v of %s", n, len(t.Data), t.Shape, t.DType)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[n] = headerEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+int(off))
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	for _, n := range names {
		out = append(out, f.Tensors[n].Data...)
	}
	return out, nil
}

// Write writes f to path atomically (see WriteFileAtomic).
func Write(path string, f *File) error {
	data, err := f.Marshal()
	if err != nil {
		return fmt.Errorf("ckpt: %s: %w", path, err)
	}
	return WriteFileAtomic(path, data)
}
