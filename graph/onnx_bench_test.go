package graph

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hift-go/hift/io/onnx"
)

// BenchmarkExportONNXGPT2 exports GPT-2 124M (bench/configs/gpt2.json, random weights) to model.onnx: graph
// build plus the streamed write. It reports the bytes written per second and the Go heap in use at the end of
// the build (the float32 weights are consumed as they are encoded). The CLI's end-to-end time and peak RSS,
// checkpoint loading included, are measured with /usr/bin/time (see the ONNX issue note).
func BenchmarkExportONNXGPT2(b *testing.B) {
	cfg, err := LoadConfig(filepath.Join("..", "bench", "configs", "gpt2.json"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewModel(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var size int64
	var heap uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w := RandomWeights(m, 1)
		b.StartTimer()
		mp, err := ExportONNX(m, w, ONNXOptions{ConsumeWeights: true})
		if err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapInuse
		path := filepath.Join(dir, "model.onnx")
		if err := onnx.Write(path, mp, onnx.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
		for _, t := range mp.GetGraph().GetInitializer() {
			size += int64(len(t.GetRawData()))
		}
	}
	b.SetBytes(size / int64(b.N))
	b.ReportMetric(float64(heap)/1e6, "heapMB-after-build")
}
