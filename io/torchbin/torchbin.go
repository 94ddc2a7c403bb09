// Package torchbin reads PyTorch checkpoints (pytorch_model.bin, written by torch.save in the zip format of
// torch >= 1.6) without running any of the Python the pickle inside could ask for.
//
// The pickle is read by github.com/nlpodyssey/gopickle with a restricted class lookup, the equivalent of
// torch.load(weights_only=True): only torch._utils._rebuild_tensor_v2 / _rebuild_parameter, the typed
// storages (torch.FloatStorage, torch.HalfStorage, torch.BFloat16Storage, ...) and collections.OrderedDict are
// accepted; any other global (os.system, builtins.eval, a custom class) is refused with an error naming it.
// Storage bytes are copied out of the zip records as they are (fp16 and bf16 keep their bit patterns), and
// tensor views (storage offset, strides) are made contiguous.
//
// Load reads one file, LoadDir a folder (pytorch_model.bin, or shards with pytorch_model.bin.index.json), and
// Open is safetensors.Open that also accepts a folder holding only .bin files. The package knows nothing
// about GoMLX or model architectures.
package torchbin

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"strings"

	"github.com/hift-go/hift/io/safetensors"
	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// ErrUnsafe is wrapped by the error for a pickle that asks for anything but tensors and storages.
var ErrUnsafe = errors.New("refused: the pickle asks for more than tensors (torch weights_only semantics)")

// storageDTypes maps torch's typed storage classes to safetensors dtypes.
var storageDTypes = map[string]safetensors.DType{
	"FloatStorage": safetensors.F32, "DoubleStorage": safetensors.F64, "HalfStorage": safetensors.F16,
	"BFloat16Storage": safetensors.BF16, "LongStorage": safetensors.I64, "IntStorage": safetensors.I32,
	"ShortStorage": safetensors.I16, "CharStorage": safetensors.I8, "ByteStorage": safetensors.U8,
	"BoolStorage": safetensors.Bool,
}

// storageClass is what the pickle's GLOBAL torch.<X>Storage becomes.
type storageClass struct{ dtype safetensors.DType }

// storage is one persistent-id storage record of the archive, read on first use.
type storage struct {
	dtype safetensors.DType
	key   string
	numel int
	data  []byte
}

// tensorRef is what _rebuild_tensor_v2 returns: a view of a storage.
type tensorRef struct {
	st     *storage
	offset int
	shape  []int
	stride []int
}

// rebuildTensor implements torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
// backward_hooks[, metadata]) as data.
type rebuildTensor struct{}

func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: argument 1 is %T, not a storage", args[0])
	}
	off, err := toInt(args[1])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset: %w", err)
	}
	shape, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size: %w", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: stride: %w", err)
	}
	if len(stride) != len(shape) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size %v and stride %v differ in rank", shape, stride)
	}
	return &tensorRef{st: st, offset: off, shape: shape, stride: stride}, nil
}

// rebuildParameter implements torch._utils._rebuild_parameter(data, requires_grad, backward_hooks).
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("_rebuild_parameter: no arguments")
	}
	if _, ok := args[0].(*tensorRef); !ok {
		return nil, fmt.Errorf("_rebuild_parameter: argument 1 is %T, not a tensor", args[0])
	}
	return args[0], nil
}

// findClass is the allow-list: everything the unpickler may build.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case "torch._utils._rebuild_parameter":
		return rebuildParameter{}, nil
	case "collections.OrderedDict":
		return &types.OrderedDictClass{}, nil
	}
	if module == "torch" {
		if dt, ok := storageDTypes[name]; ok {
			return storageClass{dt}, nil
		}
	}
	return nil, fmt.Errorf("%w: global %s.%s", ErrUnsafe, module, name)
}

// Load reads the tensors of one torch.save zip file, in the order the state dict lists them. Tensors that share
// a storage (tied weights) may share Data bytes: treat them as read-only.
func Load(file string) ([]safetensors.Tensor, error) {
	ts, err := load(file)
	if err != nil {
		return nil, fmt.Errorf("torchbin: %s: %w", file, err)
	}
	return ts, nil
}

func load(file string) (_ []safetensors.Tensor, err error) {
	var magic [4]byte
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	_, rerr := io.ReadFull(f, magic[:])
	f.Close()
	if rerr != nil || string(magic[:]) != "PK\x03\x04" {
		if rerr == nil && magic[0] == 0x80 { // a bare pickle: torch.save before 1.6 (or _use_new_zipfile_serialization=False)
			return nil, errors.New("legacy (pre-1.6, non-zip) torch.save format is not supported: re-save it with torch>=1.6 " +
				"(torch.save(torch.load(f, weights_only=True), f)) or convert it to safetensors in Python")
		}
		return nil, errors.New("not a PyTorch zip checkpoint (no zip signature)")
	}
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, fmt.Errorf("not a readable zip archive: %w", err)
	}
	defer zr.Close()
	records := map[string]*zip.File{}
	prefix := ""
	for _, zf := range zr.File {
		records[zf.Name] = zf
		if path.Base(zf.Name) == "data.pkl" && strings.Count(zf.Name, "/") == 1 {
			prefix = path.Dir(zf.Name) + "/"
		}
		if path.Base(zf.Name) == "constants.pkl" {
			return nil, errors.New("a TorchScript archive (torch.jit.save), not a state dict")
		}
	}
	pkl, ok := records[prefix+"data.pkl"]
	if prefix == "" || !ok {
		return nil, errors.New("no <archive>/data.pkl record: not written by torch.save")
	}
	if bo, ok := records[prefix+"byteorder"]; ok {
		if b, err := readRecord(bo, 16); err == nil && strings.TrimSpace(string(b)) != "little" {
			return nil, fmt.Errorf("byte order %q: only little-endian checkpoints are supported", b)
		}
	}
	raw, err := readRecord(pkl, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	entries, err := decodeStateDict(raw)
	if err != nil {
		return nil, err
	}
	out := make([]safetensors.Tensor, 0, len(entries))
	for _, e := range entries {
		if e.ref.st.data == nil {
			rec, ok := records[prefix+"data/"+e.ref.st.key]
			if !ok {
				return nil, fmt.Errorf("tensor %q: storage record data/%s is missing", e.name, e.ref.st.key)
			}
			want := int64(e.ref.st.numel) * int64(e.ref.st.dtype.Size())
			if int64(rec.UncompressedSize64) != want {
				return nil, fmt.Errorf("tensor %q: storage data/%s holds %d bytes, want %d (%d × %s)", e.name, e.ref.st.key, rec.UncompressedSize64, want, e.ref.st.numel, e.ref.st.dtype)
			}
			if e.ref.st.data, err = readRecord(rec, want); err != nil {
				return nil, fmt.Errorf("tensor %q: storage data/%s: %w", e.name, e.ref.st.key, err)
			}
		}
		data, err := contiguous(e.ref)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", e.name, err)
		}
		out = append(out, safetensors.Tensor{Name: e.name, DType: e.ref.st.dtype, Shape: e.ref.shape, Data: data})
	}
	return out, nil
}

// decodeStateDict runs the restricted unpickler over data.pkl and lists its name → tensor view pairs.
func decodeStateDict(raw []byte) ([]entry, error) {
	if err := scanPickle(raw); err != nil {
		return nil, fmt.Errorf("data.pkl: malformed pickle: %w", err)
	}
	storages := map[string]*storage{}
	u := pickle.NewUnpickler(bytes.NewReader(raw))
	u.FindClass = findClass
	u.PersistentLoad = func(pid any) (any, error) { return persistentLoad(pid, storages) }
	u.GetExtension = func(code int) (any, error) {
		return nil, fmt.Errorf("%w: pickle extension code %d", ErrUnsafe, code)
	}
	obj, err := unpickle(&u)
	if err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	return stateDict(obj)
}

// unpickle runs the unpickler, turning a panic on malformed input into an error.
func unpickle(u *pickle.Unpickler) (obj any, err error) {
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	return u.Load()
}

// persistentLoad turns ('storage', <class>, key, location, numel) into a storage, one per key.
func persistentLoad(pid any, storages map[string]*storage) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() != 5 {
		return nil, fmt.Errorf("persistent id %v: want ('storage', class, key, location, numel)", pid)
	}
	if s, _ := t.Get(0).(string); s != "storage" {
		return nil, fmt.Errorf("persistent id of kind %v, want 'storage'", t.Get(0))
	}
	cls, ok := t.Get(1).(storageClass)
	if !ok {
		return nil, fmt.Errorf("persistent id: %T is not a typed storage class", t.Get(1))
	}
	key, ok := t.Get(2).(string)
	if !ok || key == "" || strings.ContainsAny(key, "/\\") || strings.Contains(key, "..") {
		return nil, fmt.Errorf("persistent id: bad storage key %v", t.Get(2))
	}
	n, err := toInt(t.Get(4))
	if err != nil || n < 0 {
		return nil, fmt.Errorf("persistent id: bad storage size %v", t.Get(4))
	}
	if s, ok := storages[key]; ok {
		if s.dtype != cls.dtype || s.numel != n {
			return nil, fmt.Errorf("storage %s seen as %s×%d and %s×%d", key, s.dtype, s.numel, cls.dtype, n)
		}
		return s, nil
	}
	s := &storage{dtype: cls.dtype, key: key, numel: n}
	storages[key] = s
	return s, nil
}

type entry struct {
	name string
	ref  *tensorRef
}

// stateDict lists the name → tensor pairs of the unpickled object, which must be a dict of tensors.
func stateDict(obj any) ([]entry, error) {
	var out []entry
	add := func(k, v any) error {
		name, ok := k.(string)
		if !ok {
			return fmt.Errorf("state dict key %v is %T, not a string", k, k)
		}
		ref, ok := v.(*tensorRef)
		if !ok {
			return fmt.Errorf("state dict entry %q is %T, not a tensor (only plain state dicts of tensors are read)", name, v)
		}
		out = append(out, entry{name, ref})
		return nil
	}
	switch d := obj.(type) {
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			if err := add(e.Key, e.Value); err != nil {
				return nil, err
			}
		}
	case *types.Dict:
		for _, e := range *d {
			if err := add(e.Key, e.Value); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("the pickle holds a %T, not a state dict (a dict of tensors)", obj)
	}
	return out, nil
}

// contiguous returns a view's elements in row-major order: a sub-slice of the storage when the view is
// contiguous (tensors sharing a storage then share bytes; callers only read them), else a gathered copy.
func contiguous(t *tensorRef) ([]byte, error) {
	es := t.st.dtype.Size()
	n := 1
	for i, d := range t.shape {
		if d < 0 || t.stride[i] < 0 {
			return nil, fmt.Errorf("negative size %v or stride %v", t.shape, t.stride)
		}
		if n *= d; n > 1<<34 {
			return nil, fmt.Errorf("size %v is too large", t.shape)
		}
	}
	if n == 0 {
		return []byte{}, nil
	}
	last := t.offset // the largest element index the view touches
	for i, d := range t.shape {
		last += (d - 1) * t.stride[i]
	}
	if t.offset < 0 || last >= t.st.numel {
		return nil, fmt.Errorf("view (offset %d, size %v, stride %v) reaches past its storage of %d elements", t.offset, t.shape, t.stride, t.st.numel)
	}
	if isContiguous(t.shape, t.stride) { // the common case: the storage bytes themselves, no copy
		return t.st.data[t.offset*es : (t.offset+n)*es : (t.offset+n)*es], nil
	}
	out := make([]byte, n*es)
	idx := make([]int, len(t.shape))
	for i := 0; i < n; i++ {
		src := t.offset
		for k, j := range idx {
			src += j * t.stride[k]
		}
		copy(out[i*es:(i+1)*es], t.st.data[src*es:(src+1)*es])
		for k := len(idx) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < t.shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out, nil
}

func isContiguous(shape, stride []int) bool {
	want := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && stride[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}

// readRecord reads a zip record of at most limit bytes.
func readRecord(zf *zip.File, limit int64) ([]byte, error) {
	if int64(zf.UncompressedSize64) > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d expected", zf.Name, zf.UncompressedSize64, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", zf.Name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: longer than the %d bytes expected", zf.Name, limit)
	}
	return b, nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case *big.Int:
		if x.IsInt64() && x.Int64() >= 0 && x.Int64() < 1<<53 {
			return int(x.Int64()), nil
		}
	}
	return 0, fmt.Errorf("%v (%T) is not an integer", v, v)
}

func intTuple(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%T is not a tuple", v)
	}
	out := make([]int, t.Len())
	for i := range out {
		var err error
		if out[i], err = toInt(t.Get(i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
