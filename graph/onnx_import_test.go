package graph

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/onnx"
)

// torchStyle rewrites a hift export the way torch.onnx.export (optimum) lays out nn.Linear: each weight read only
// through Transpose → MatMul becomes an initializer "onnx::MatMul_<n>" holding Wᵀ, read directly by a MatMul
// node named after the module path ("/model/layers.0/self_attn/q_proj/MatMul"). It returns how many it rewrote.
func torchStyle(t *testing.T, mp *onnx.ModelProto) int {
	g := mp.GetGraph()
	users := map[string][]*onnx.NodeProto{}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			users[in] = append(users[in], n)
		}
	}
	drop := map[*onnx.NodeProto]bool{}
	count := 0
	for _, init := range g.GetInitializer() {
		name := init.GetName()
		u := users[name]
		if len(u) != 1 || u[0].GetOpType() != "Transpose" || len(users[u[0].GetOutput()[0]]) != 1 {
			continue
		}
		mm := users[u[0].GetOutput()[0]][0]
		if mm.GetOpType() != "MatMul" {
			continue
		}
		vals, err := onnx.TensorFloat32(init, "")
		if err != nil {
			t.Fatal(err)
		}
		tv, shape := onnxTranspose2D(vals, onnx.Shape(init))
		count++
		renamed := fmt.Sprintf("onnx::MatMul_%d", 1000+count)
		*init = *onnx.Float32Tensor(renamed, shape, tv)
		var parts []string // torch keeps "layers.0" as one path component
		for _, p := range strings.Split(strings.TrimSuffix(name, ".weight"), ".") {
			if len(parts) > 0 && p != "" && p[0] >= '0' && p[0] <= '9' {
				parts[len(parts)-1] += "." + p
			} else {
				parts = append(parts, p)
			}
		}
		mm.Name = ptrTo("/" + strings.Join(parts, "/") + "/MatMul")
		mm.Input[1] = renamed
		drop[u[0]] = true
	}
	g.Node = slices.DeleteFunc(g.Node, func(n *onnx.NodeProto) bool { return drop[n] })
	return count
}

// TestONNXImportTorchNames: an export laid out as torch.onnx.export writes it (transposed Linear weights renamed
// onnx::MatMul_<n>) still runs in onnxruntime with the same logits, and import maps every renamed weight back
// to its HF name, bit for bit; without config (metadata or config.json) import says what is missing.
func TestONNXImportTorchNames(t *testing.T) {
	for _, name := range []string{"llama_causal_lm", "roberta_qa"} {
		t.Run(name, func(t *testing.T) {
			_, m, w, batch := loadFixtureModel(t, name)
			mp, err := ExportONNX(m, w, ONNXOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n := torchStyle(t, mp)
			if n == 0 {
				t.Fatal("no Linear weight rewritten")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "model.onnx")
			if err := onnx.Write(path, mp, onnx.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			ref := runORT(t, exportTo(t, m, w, ONNXOptions{}), ortRunReq{Inputs: ortInputs(m, batch)})
			got := runORT(t, path, ortRunReq{Inputs: ortInputs(m, batch)})
			for o, v := range ref.Runs[0] {
				if !slices.Equal(got.Runs[0][o].Data, v.Data) {
					t.Errorf("%s: torch-style layout changes %s", name, o)
				}
			}
			back, err := onnx.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			_, w2, err := ImportONNX(back, path, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params {
				a, b := tensors.MustCopyFlatData[float32](w[p.Name]), tensors.MustCopyFlatData[float32](w2[p.Name])
				if !slices.Equal(a, b) {
					t.Errorf("%s: %s differs after torch-style export → import", name, p.Name)
				}
			}
			t.Logf("%s: %d Linear weights renamed onnx::MatMul_<n>, all %d parameters imported bit for bit", name, n, len(m.Params))
			back.MetadataProps = nil
			if _, _, err := ImportONNX(back, path, dir, nil); err == nil || !strings.Contains(err.Error(), "config.json") {
				t.Errorf("import without config: err = %v", err)
			}
		})
	}
}
